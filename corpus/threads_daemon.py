# Checks a daemon thread still blocked at exit: the interpreter exits without waiting for it.
import threading

started = threading.Event()


def forever():
    print("daemon started", flush=True)
    started.set()
    threading.Event().wait()
    print("daemon never gets here")


t = threading.Thread(target=forever, daemon=True)
t.start()
started.wait()
print("daemon alive:", t.is_alive(), "daemon flag:", t.daemon)
print("main exits")
