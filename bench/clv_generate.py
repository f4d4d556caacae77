#!/usr/bin/env python3
"""bench/clv_generate.py -- simulate BG/NBD customers for the CLV benchmark.

    clv_generate.py CUSTOMERS [SEED] > customers.tsv

Each customer draws a purchase rate lambda ~ Gamma(r, alpha) and a drop-out
probability p ~ Beta(a, b) (Fader, Hardie & Lee 2005), buys as a Poisson
process and may drop out after each purchase.  Time is in whole days: the
first purchase is day 0, the calibration ends 273-364 days later (a cohort
acquired over one quarter, observed 39-52 weeks).  Purchases on the same
day count once, as rfm_summary counts them.  Output: id, x, t_x, T (days),
and zbar (repeat spend, Gamma-Gamma: nu ~ Gamma(q, gamma), spend ~ Gamma(p, nu)).
The true parameters in days: r=0.25, alpha=30, a=0.8, b=2.4;
Gamma-Gamma p=6, q=4, gamma=15.
"""
import random
import sys

R, ALPHA, A, B = 0.25, 30.0, 0.8, 2.4
GP, GQ, GGAMMA = 6.0, 4.0, 15.0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 42)
    out = sys.stdout
    buf = []
    for i in range(1, n + 1):
        lam = rng.gammavariate(R, 1.0 / ALPHA)
        p = rng.betavariate(A, B)
        T = 273 + (i * 7919) % 92
        days = set()
        t = 0.0
        while lam > 0:
            t += rng.expovariate(lam)
            if t > T:
                break
            days.add(int(t))
            if rng.random() < p:
                break
        days.discard(0)
        x = len(days)
        t_x = max(days) if days else 0
        if x:
            nu = rng.gammavariate(GQ, 1.0 / GGAMMA)
            zbar = sum(rng.gammavariate(GP, 1.0 / nu) for _ in range(x)) / x
        else:
            zbar = 0.0
        buf.append(f"{i}\t{x}\t{t_x}\t{T}\t{zbar:.2f}\n")
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))


if __name__ == "__main__":
    main()
