"""Concurrent callers (the REST server's worker threads) see a consistent simulator."""

from __future__ import annotations

import threading

from tests.kit.simulator import KEY, D, funded_sim, points_path


def test_concurrent_orders_and_price_moves_keep_ids_unique_and_books_balanced() -> None:
    sim = funded_sim()
    sim.load_path(points_path({"XRPUSDT": [(i * 10, "1.80" if i % 2 else "1.90")
                                           for i in range(400)]}))  # fmt: skip
    venue = sim.venue("binance")
    errors: list[BaseException] = []

    def trader(worker: int) -> None:
        try:
            for n in range(50):
                venue.place_order(KEY, symbol="XRPUSDT", side="buy", type="limit",
                                  quantity=D(10), price=D("1.85"),
                                  client_order_id=f"w{worker}-{n}")  # fmt: skip
                venue.open_orders(KEY, "XRPUSDT")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def clock() -> None:
        for _ in range(100):
            sim.advance(by_ms=40)

    threads = [threading.Thread(target=trader, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=clock))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sim.advance(until_ms=sim.clock_ms + 10_000)
    assert errors == []
    orders = venue.all_orders(KEY)
    assert len(orders) == 200 and len({o.order_id for o in orders}) == 200
    assert all(o.status == "FILLED" for o in orders)  # the path dips to 1.80 every 20 ms
    usdt, xrp = venue.balances(KEY)["USDT"], venue.balances(KEY)["XRP"]
    trades = venue.trades(KEY)
    # orders placed while the price was 1.80 filled at once as takers at 1.80, the others
    # rested and filled at their 1.85 limit when the path dipped
    assert {t.price for t in trades} <= {D("1.8000"), D("1.8500")}
    assert sum(t.quantity for t in trades) == D(2000)  # 200 orders x 10 XRP
    assert usdt.locked == 0
    assert usdt.free == D(100000) - sum(t.quantity * t.price for t in trades)
    assert xrp.free == D(2000) - D(2)  # less the 0.1 % fee in XRP
