"""Customer value: who is still a customer, how much each will buy, and what each is worth.

* `custseg.valuing.history`: per-customer purchase history (x, t_x, T, mean repeat value)
  and the calibration/holdout split.
* `custseg.valuing.models`: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma, their fitted
  parameters and vectorised formulas.
* `custseg.valuing.fitting`: maximum-likelihood fits on weighted distinct histories.
* `custseg.valuing.special`: the overflow-free hypergeometric and log-space pieces.
* `custseg.valuing.scores`: P(alive), expected purchases, value per purchase and CLV per customer.
* `custseg.valuing.holdout`: the holdout check of a log run (the model fitted on a
  calibration period, its forecast of the holdout against the purchases made).
* `custseg.valuing.verdict`: whether the model fits, with its thresholds and named reasons.
* `custseg.valuing.customer_value`: the value step of a log run and its summary.
"""
