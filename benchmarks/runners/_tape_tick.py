"""Shared by tapereader's L2 runners: load the generated feed (.npz) into a tick feed."""

import numpy as np

from engine.tick import build_feed


def load(path, params):
    if not path.endswith(".npz") or path.endswith(".hft.npz"):
        raise SystemExit(f"tapereader runners take the canonical .npz feed, got {path}")
    with np.load(path) as z:
        depth, trade = z["depth"], z["trade"]
        dseq, tseq = z["depth_seq"], z["trade_seq"]
    # the same events as hftbacktest's file; its local_ts is the data's ts_recv ("recorded")
    feed = build_feed(depth=depth, trade=trade, tick_size=0.01, lot_size=1.0,
                      feed_latency=params.get("feed_latency", "recorded"),
                      seq={"depth": dseq, "trade": tseq})
    return feed
