import json

import httpx
import pytest
import respx

from qtrade.tools import bulk, health


def _write(tmp_path, data) -> str:
    path = tmp_path / "signals.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_bulk_file_accepts_flags_and_full_payloads(tmp_path) -> None:
    file = _write(
        tmp_path,
        [
            {"user_id": "u1", "secret": "s", "exchange": "BINANCE", "symbol": "ADAUSDT",
             "timeframe": 60, "side": "long", "type": "signal"},
            {"user_id": "u2", "payload": {"secret": "x", "tv": {"symbol": "BTCUSDT"}}},
        ],
    )  # fmt: skip
    pairs = bulk.load_bulk_file(file)
    assert [user for user, _ in pairs] == ["u1", "u2"]
    assert pairs[0][1]["tv"]["symbol"] == "ADAUSDT"
    assert pairs[0][1]["tv"]["action"] == "buy"
    assert pairs[1][1] == {"secret": "x", "tv": {"symbol": "BTCUSDT"}}


@pytest.mark.parametrize("data", [{"not": "a list"}, [{"symbol": "X"}], [{"user_id": "u"}]])
def test_bulk_file_errors_name_the_entry(tmp_path, data) -> None:
    with pytest.raises(ValueError):
        bulk.load_bulk_file(_write(tmp_path, data))


@respx.mock
def test_bulk_sends_all_and_summarises_outcomes(tmp_path, capsys) -> None:
    outcomes = iter(["opened", "duplicate", "opened"])
    respx.post(url__regex=r"http://sim\.test/webhooks/.*").mock(
        side_effect=lambda request: httpx.Response(202, json={"outcome": next(outcomes)})
    )
    entry = {"user_id": "u", "payload": {"secret": "s"}}
    code = bulk.main([_write(tmp_path, [entry] * 3), "--url", "http://sim.test",
                      "--concurrency", "1"])  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert len(lines) == 4
    assert lines[-1] == {"sent": 3, "outcomes": {"duplicate": 1, "opened": 2}}


@respx.mock
def test_health_exit_code_follows_exchange_states(capsys) -> None:
    route = respx.get("http://sim.test/health")
    route.mock(return_value=httpx.Response(200, json={"exchanges": {"binance": "ok"}}))
    assert health.main(["--url", "http://sim.test"]) == 0
    route.mock(
        return_value=httpx.Response(
            200, json={"exchanges": {"binance": "ok", "bybit": "auth_failed"}}
        )
    )
    assert health.main(["--url", "http://sim.test"]) == 1
    capsys.readouterr()
