# Checks multiprocessing with the "forkserver" start method: Pool.map of a top-level function, and a Process with a Queue.
import multiprocessing as mp
import sys


def square(x):
    return x * x, __name__


def producer(q, n):
    for i in range(n):
        q.put(("item", i, __name__))
    q.put(None)


if __name__ == "__main__":
    ctx = mp.get_context("forkserver")
    print("start method:", ctx.get_start_method())
    q = ctx.Queue()
    p = ctx.Process(target=producer, args=(q, 3), name="producer")
    p.start()
    items = []
    while (item := q.get()) is not None:
        items.append(item)
    p.join()
    print("process exitcode:", p.exitcode, "name:", p.name)
    print("items:", sorted(items))
    with ctx.Pool(2) as pool:
        results = pool.map(square, range(8))
    print("pool:", sorted(results))
    sys.stdout.flush()
    print("done")
