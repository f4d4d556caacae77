#!/usr/bin/python3
"""Compare the k-means kernel (kmeans_driver) with scikit-learn.

Run with Debian's interpreter (python3-sklearn):
    /usr/bin/python3 test/kernel/check_sklearn.py          # correctness
    /usr/bin/python3 test/kernel/check_sklearn.py --bench  # + timings
Prints "N passed, N failed" and exits nonzero on any failure.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "kmeans_driver")
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "datasets"))
if not os.path.isdir(DATA):
    DATA = "/work/shared/datasets"
IRIS = os.path.join(DATA, "iris", "iris.csv")
MALL = os.path.join(DATA, "mall_customers", "Mall_Customers.csv")
TMP = tempfile.mkdtemp(prefix="kmeans_kernel_")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name}  {detail}")


def write_raw(X, name):
    path = os.path.join(TMP, name + ".f64")
    np.ascontiguousarray(X, dtype=np.float64).tofile(path)
    return path


def write_centroids(C, name):
    path = os.path.join(TMP, name + ".csv")
    np.savetxt(path, C, delimiter=",", fmt="%.17g")
    return path


def run(args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([DRIVER] + [str(a) for a in args], check=True,
                         capture_output=True, text=True, env=env).stdout
    res = {"centroids": []}
    for line in out.splitlines():
        key, _, val = line.partition(":")
        val = val.strip()
        if key == "centroid":
            res["centroids"].append([float(v) for v in val.split()])
        elif key in ("sizes", "labels"):
            res[key] = np.array([int(v) for v in val.split()], dtype=np.int64)
        elif key in ("inertia", "time_ms"):
            res[key] = float(val)
        elif key in ("algo",):
            res[key] = val
        else:
            res[key] = int(val)
    res["centroids"] = np.array(res["centroids"])
    return res


def run_X(X, k, name, extra):
    path = write_raw(X, name)
    return run(["--raw", path, "--d", X.shape[1], "--k", k] + extra)


def sk_fit(X, C0, max_iter=300, tol=1e-4):
    km = KMeans(n_clusters=C0.shape[0], init=C0, n_init=1, algorithm="lloyd",
                max_iter=max_iter, tol=tol)
    with threadpool_limits(limits=1):
        km.fit(X)
    return km


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def compare_same_init(name, X, C0, algos=("auto", "loop", "hamerly", "blas", "hblas"),
                      max_iter=300, tol=1e-4):
    km = sk_fit(X, C0, max_iter, tol)
    cpath = write_centroids(C0, name + "_c0")
    xpath = write_raw(X, name)
    for algo in algos:
        r = run(["--raw", xpath, "--d", X.shape[1], "--k", C0.shape[0],
                 "--centroids", cpath, "--max-iter", max_iter, "--tol", tol,
                 "--algo", algo])
        tag = f"{name} [{algo}->{r['algo']}]"
        check(f"{tag} inertia vs sklearn", rel(r["inertia"], km.inertia_) <= 1e-6,
              f"ours {r['inertia']!r} sklearn {km.inertia_!r}")
        check(f"{tag} labels vs sklearn", np.array_equal(r["labels"], km.labels_),
              f"{int((r['labels'] != km.labels_).sum())} differ")
        check(f"{tag} n_iter vs sklearn", r["n_iter"] == km.n_iter_,
              f"ours {r['n_iter']} sklearn {km.n_iter_}")
        check(f"{tag} centroids vs sklearn",
              np.allclose(r["centroids"], km.cluster_centers_, rtol=1e-9, atol=1e-9),
              f"max diff {np.abs(r['centroids'] - km.cluster_centers_).max()}")


def compare_hamerly_exact(name, X, C0, max_iter=300, tol=1e-4):
    cpath = write_centroids(C0, name + "_c0")
    xpath = write_raw(X, name)
    common = ["--raw", xpath, "--d", X.shape[1], "--k", C0.shape[0],
              "--centroids", cpath, "--max-iter", max_iter, "--tol", tol]
    a = run(common + ["--algo", "loop"])
    b = run(common + ["--algo", "hamerly"])
    check(f"{name} hamerly == lloyd loop (labels, centers, inertia, n_iter bit-exact)",
          np.array_equal(a["labels"], b["labels"]) and
          np.array_equal(a["centroids"], b["centroids"]) and
          a["inertia"] == b["inertia"] and a["n_iter"] == b["n_iter"],
          f"inertia {a['inertia']!r} vs {b['inertia']!r}")


def blobs(n, d, k, spread, seed):
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-10, 10, size=(k, d))
    lab = rng.randint(0, k, size=n)
    return centers[lab] + rng.normal(scale=spread, size=(n, d))


def main():
    bench = "--bench" in sys.argv
    if not os.path.exists(DRIVER):
        sys.exit("build first: make -C test/kernel")

    iris = np.loadtxt(IRIS, delimiter=",", skiprows=1, usecols=(0, 1, 2, 3))
    mall = np.loadtxt(MALL, delimiter=",", skiprows=1, usecols=(3, 4))

    # --- Iris, same initial centroids as sklearn --------------------------
    for seed in (0, 1, 2, 3):
        C0, _ = kmeans_plusplus(iris, 3, random_state=seed)
        compare_same_init(f"iris k=3 sk++init seed{seed}", iris, C0)
    compare_same_init("iris k=3 rows 0,50,100", iris, iris[[0, 50, 100]])
    compare_same_init("iris k=3 rows 0,1,2 (poor init)", iris, iris[[0, 1, 2]])
    C0, _ = kmeans_plusplus(iris, 8, random_state=7)
    compare_same_init("iris k=8", iris, C0)
    compare_same_init("iris k=3 max_iter=2", iris, iris[[0, 1, 2]], max_iter=2)

    # --- Iris / Mall, k-means++ n_init=10: published inertias -------------
    for seed in (0, 1, 42):
        r = run(["--csv", IRIS, "--header", "--cols", "0,1,2,3", "--k", 3,
                 "--n-init", 10, "--seed", seed, "--canon"])
        check(f"iris k-means++ n_init=10 seed={seed} inertia 78.851441",
              abs(r["inertia"] - 78.851441) <= 1e-3, repr(r["inertia"]))
        check(f"iris k-means++ n_init=10 seed={seed} sizes 62/50/38",
              list(r["sizes"]) == [62, 50, 38], str(r["sizes"]))
        r = run(["--csv", MALL, "--header", "--cols", "3,4", "--k", 5,
                 "--n-init", 10, "--seed", seed, "--canon", "--no-labels"])
        check(f"mall k=5 k-means++ n_init=10 seed={seed} inertia 44448.455",
              abs(r["inertia"] - 44448.455) <= 0.01, repr(r["inertia"]))
    r = run(["--csv", MALL, "--header", "--cols", "3,4", "--k", 5,
             "--n-init", 10, "--seed", 0, "--init", "random", "--no-labels"])
    check("mall k=5 random init n_init=10 inertia 44448.455",
          abs(r["inertia"] - 44448.455) <= 0.01, repr(r["inertia"]))
    C0, _ = kmeans_plusplus(mall, 5, random_state=3)
    compare_same_init("mall k=5 sk++init", mall, C0)

    # --- generated blobs --------------------------------------------------
    X = blobs(20000, 32, 16, 4.0, 1)
    C0, _ = kmeans_plusplus(X, 16, random_state=1)
    compare_same_init("blobs 20000x32 k=16", X, C0)
    compare_hamerly_exact("blobs 20000x32 k=16", X, C0)
    X = blobs(30000, 3, 6, 3.0, 2)
    C0, _ = kmeans_plusplus(X, 6, random_state=2)
    compare_same_init("blobs 30000x3 k=6", X, C0)
    compare_hamerly_exact("blobs 30000x3 k=6", X, C0)
    X = np.random.RandomState(5).uniform(size=(20000, 3)) * 1000 + 1e6
    C0 = X[:10].copy()
    compare_same_init("uniform 20000x3 offset 1e6 k=10 tol=0", X, C0, tol=0.0)
    compare_hamerly_exact("uniform 20000x3 offset 1e6 k=10 tol=0", X, C0, tol=0.0)

    # --- empty cluster relocation: a far-away initial center ---------------
    X = blobs(3000, 2, 3, 0.5, 4)
    C0 = np.vstack([X[[0, 1]], [[1e3, 1e3]]])
    compare_same_init("empty cluster relocation", X, C0)
    compare_hamerly_exact("empty cluster relocation", X, C0)

    # --- edge cases ---------------------------------------------------------
    r = run_X(iris, 1, "iris_k1", [])
    check("k=1 inertia = total sum of squares",
          rel(r["inertia"], ((iris - iris.mean(0)) ** 2).sum()) <= 1e-12,
          repr(r["inertia"]))
    dup = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0], [3.0, 3.0]]), 50, axis=0)
    for init in ("pp", "random"):
        r = run_X(dup, 4, "dup", ["--init", init, "--n-init", 3])
        check(f"duplicates, k = distinct rows ({init}): inertia 0, no empty cluster",
              r["inertia"] == 0.0 and sorted(r["sizes"]) == [50, 50, 50, 50],
              f"{r['inertia']} {r['sizes']}")
    a = run_X(iris, 4, "iris_det", ["--n-init", 5, "--seed", 123])
    b = run_X(iris, 4, "iris_det", ["--n-init", 5, "--seed", 123])
    check("deterministic for a seed", a["inertia"] == b["inertia"] and
          np.array_equal(a["labels"], b["labels"]))
    r = run_X(iris, 5, "iris_canon", ["--n-init", 3, "--canon"])
    check("canonical order: sizes descending, labels consistent",
          list(r["sizes"]) == sorted(r["sizes"], reverse=True) and
          list(np.bincount(r["labels"], minlength=5)) == list(r["sizes"]))
    r = run_X(mall, 5, "mall_given_tol", ["--centroids", write_centroids(mall[:5], "m5"),
                                          "--tol", 0.5])
    km = sk_fit(mall, mall[:5], tol=0.5)
    check("tol-based stop matches sklearn n_iter/inertia",
          r["n_iter"] == km.n_iter_ and rel(r["inertia"], km.inertia_) <= 1e-6,
          f"ours {r['n_iter']} {r['inertia']} sklearn {km.n_iter_} {km.inertia_}")

    if bench:
        run_bench()

    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run_bench():
    for (n, d, k, spread, max_iter) in ((1000000, 3, 5, 4.0, 100), (200000, 32, 16, 6.0, 100)):
        X = blobs(n, d, k, spread, 11)
        C0, _ = kmeans_plusplus(X[:100000], k, random_state=0)
        xpath = write_raw(X, f"bench_{n}_{d}")
        cpath = write_centroids(C0, f"bench_{n}_{d}_c0")
        for threads in (1, None):
            km = KMeans(n_clusters=k, init=C0, n_init=1, algorithm="lloyd",
                        max_iter=max_iter, tol=0.0)
            with threadpool_limits(limits=threads):
                t0 = time.perf_counter()
                km.fit(X)
                t_sk = (time.perf_counter() - t0) * 1e3
            print(f"bench {n}x{d} k={k}: sklearn lloyd threads={threads or 'all'}: "
                  f"{t_sk:.0f} ms, {km.n_iter_} iter, {t_sk / km.n_iter_:.2f} ms/iter")
        for algo in ("loop", "hamerly", "blas", "hblas"):
            r = run(["--raw", xpath, "--d", d, "--k", k, "--centroids", cpath,
                     "--max-iter", max_iter, "--tol", 0, "--algo", algo, "--no-labels"])
            same = r["n_iter"] == km.n_iter_ and rel(r["inertia"], km.inertia_) <= 1e-6
            print(f"bench {n}x{d} k={k}: kernel {algo:8s}: {r['time_ms']:.0f} ms, "
                  f"{r['n_iter']} iter, {r['time_ms'] / r['n_iter']:.2f} ms/iter, "
                  f"same result as sklearn: {same}")


if __name__ == "__main__":
    main()
