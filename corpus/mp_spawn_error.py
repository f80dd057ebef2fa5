# Checks an exception raised in a spawn-started child process: child traceback on stderr, exitcode 1.
import multiprocessing as mp


def fails(tag):
    raise ValueError("child failed: " + tag)


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=fails, args=("spawned",), name="failing-child")
    p.start()
    p.join()
    print("exitcode:", p.exitcode)
