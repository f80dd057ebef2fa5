# Checks that the interpreter waits for non-daemon threads at exit: they outlive the main thread; atexit runs after them.
import atexit
import threading
import time

atexit.register(print, "atexit runs after the non-daemon threads finished")


def worker(name, wait_for):
    deadline = time.monotonic() + 20
    while threading.main_thread().is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if wait_for is not None:
        wait_for.join()
    print("worker", name, "finished, main thread alive:", threading.main_thread().is_alive())


t1 = threading.Thread(target=worker, args=("one", None))
t1.start()
t2 = threading.Thread(target=worker, args=("two", t1), name="second")
t2.start()
print("threads:", sorted(t.name for t in threading.enumerate()))
print("main thread ends now")
