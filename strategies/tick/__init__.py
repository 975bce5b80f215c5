"""Built-in tick strategies (order-book engine), registered in ``strategies.builtin``:

* ``avellaneda_stoikov``: :class:`~strategies.tick.market_making.AvellanedaStoikov` and its
  compiled twin ``as_step_nb`` / ``as_run_nb``;
* ``grid_mm``: :class:`~strategies.tick.market_making.GridMarketMaker` (the benchmark loop) and
  ``grid_mm_step_nb`` / ``grid_mm_run_nb``;
* ``ofi_taker``: :class:`~strategies.tick.ofi_taker.OfiTaker`.
"""
