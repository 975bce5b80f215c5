import sys, time, numpy as np
sys.path.insert(0, "benchmarks/runners")
import _protocol as P
import sma_cross_tapereader_compiled as R
data = R.load(sys.argv[1], {})
params = dict(P.SMA_CROSS_DEFAULTS)
import resource
for k in range(4):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t = time.perf_counter(); res = R.run(data, params); dt = time.perf_counter() - t
    f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print(f"call {k}: {dt:.3f}s minflt {f1-f0} ({(f1-f0)*4/1024:.0f} MB of 4k pages) timings {res.timings}", R.fingerprint(res)["final_equity"])
    prev = res
if len(sys.argv) > 2:
    import cProfile, pstats
    pr = cProfile.Profile(); pr.enable(); R.run(data, params); pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)
