"""Shipped worked examples: whole runs on real historical data.

The command line runs them (``gosplan demo``, ``gosplan compare``, ``gosplan invest``);
the core never imports them. :mod:`gosplan.examples.ussr_1923`: industrialisation and
the price scissors, USSR 1924/25.
"""
