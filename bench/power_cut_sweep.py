"""Benchmark: a power cut at every littlefs block program and erase of a whole
visit (pair, sync, a refill cycle with acknowledgements) on the unix backend;
prints the cut points tried and any that lost settings or the log."""

from __future__ import annotations

from pumpsync import power_cuts


def run() -> dict:
    result = power_cuts.sweep(every=1)
    print("power cut at every littlefs block program/erase of a visit (pair, sync, refill cycle), torn and clean:")
    print(f"  {result.tried} cut points tried of {result.total_ops} block operations in {result.wall_s:.0f} s: "
          f"{len(result.failures)} lost settings, log lines or the unit" + ("" if not result.failures else ":"))
    for failure in result.failures[:10]:
        print("   ", failure)
    return {"tried": result.tried, "total": result.total_ops, "failures": len(result.failures)}


if __name__ == "__main__":
    run()
