# Checks importing numpy and a small deterministic computation (linear algebra, seeded RNG, dtypes).
import numpy as np

a = np.arange(12, dtype=np.float64).reshape(3, 4)
print(a.sum(), a.mean(axis=0).tolist(), a.T.shape)
m = np.array([[4.0, 1.0], [2.0, 3.0]])
print(np.round(np.linalg.solve(m, np.array([1.0, 2.0])), 6).tolist())
print(np.round(sorted(np.linalg.eigvals(m).real), 6).tolist())
rng = np.random.default_rng(12345)
print(rng.integers(0, 100, size=8).tolist())
print(np.cumsum(np.arange(1, 11)).tolist())
print(np.dtype("int32").itemsize, np.float32(1) / np.float32(3))
print(a)
np.save("numpy_out.npy", np.arange(5, dtype="<i8"))
print(np.load("numpy_out.npy").tolist())
