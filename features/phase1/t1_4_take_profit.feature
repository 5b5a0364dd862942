@phase1
Feature: Test 1.4 - per-leg take-profit closes one leg at a time
  In per_leg mode every filled leg has its own take-profit at fill × (1 + tp %): a resting
  limit sell (tp_order_type limit) or a market sell sent when the engine sees the mark cross
  it (tp_order_type market). Only that leg closes; realised PnL rises, the pool slot is kept
  and the average entry of what stays open is right (SPEC §6.2, §6.3).

  Take-profit prices of the seed grid on BTCUSDT (leg prices from SPEC §4, tick 0.01):
    leg 0: 95992.30 × 1.01 = 96952.223  → 96952.22  (0.00020)
    leg 1: 95512.33 × 1.01 = 96467.4533 → 96467.45  (0.00030)
    leg 2: 95032.37 × 1.02 = 96933.0174 → 96933.01  (0.00050)
  A leg's realised PnL = (exit − fill) × qty − 0.1 % × fill × qty − 0.1 % × exit × qty
  (Binance spot fees, 0.1 % maker and taker, on the entry and on the close).

  Background:
    Given the trading system runs with the seed user "maaz"

  @t1_4 @needs_price_control
  Scenario Outline: Take-profits close the legs one by one (<tp_order_type> orders)
    Given the user's config sets "dca_grid_config.tp_order_type" to "<tp_order_type>"
    And a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001
    And the price of BTCUSDT on binance moved to 95000
    Then the BTCUSDT 60 group on binance has 3 of 3 entry legs filled
    And the BTCUSDT 60 group on binance has average entry 95368.344 and open quantity 0.00100
    # 96500 crosses leg 1's target 96467.45 only (below 96933.01 and 96952.22)
    When the price of BTCUSDT on binance moves to 96500
    Then logs show "Take-profit" for BTCUSDT
    And binance filled a sell of 0.00030 BTCUSDT at <leg1_exit>
    And the BTCUSDT 60 group on binance has these legs:
      | pyramid | leg | status | filled_quantity | closed_quantity | realised_pnl |
      | 0       | 0   | filled | 0.00020         | 0               |              |
      | 0       | 1   | closed | 0.00030         | 0.00030         | <leg1_pnl>   |
      | 0       | 2   | filled | 0.00050         | 0               |              |
    And the BTCUSDT 60 group on binance has 2 of 3 legs still open
    And the realised PnL of the BTCUSDT 60 group on binance rose
    And the realised PnL of the BTCUSDT 60 group on binance is the sum of its legs' realised PnL
    # what stays open: 0.00020 @ 95992.30 + 0.00050 @ 95032.37
    #   average = (19.198460 + 47.516185) / 0.00070 = 66.714645 / 0.0007 = 95306.6357…
    #   unrealised at 96500 = 96500 × 0.0007 − 66.714645 = 67.55 − 66.714645 = 0.835355
    And the BTCUSDT 60 group on binance has average entry 95306.6357 and open quantity 0.00070
    And the BTCUSDT 60 group on binance shows unrealised PnL 0.835355
    And the pool shows 1 of 3 slots used
    And the BTCUSDT 60 group on binance is listed with status "active" and 1 of 5 pyramids
    # 96940 crosses leg 2's target 96933.01 but not leg 0's 96952.22
    When the price of BTCUSDT on binance moves to 96940
    Then binance filled a sell of 0.00050 BTCUSDT at <leg2_exit>
    And the BTCUSDT 60 group on binance has these legs:
      | pyramid | leg | closed_quantity | realised_pnl |
      | 0       | 0   | 0               |              |
      | 0       | 1   | 0.00030         | <leg1_pnl>   |
      | 0       | 2   | 0.00050         | <leg2_pnl>   |
    And the BTCUSDT 60 group on binance has average entry 95992.30 and open quantity 0.00020
    And the pool shows 1 of 3 slots used
    When the price of BTCUSDT on binance moves to 97000
    Then binance filled a sell of 0.00020 BTCUSDT at <leg0_exit>
    And the BTCUSDT 60 group on binance is listed with status "closed" and 1 of 5 pyramids
    And the realised PnL of the BTCUSDT 60 group on binance is <total_pnl>
    And the pool shows 0 of 3 slots used
    And binance shows 0 open orders for BTCUSDT

    # limit:  leg 1 (96467.45 − 95512.33) × 0.0003 = 0.286536 − 0.028653699 − 0.028940235 = 0.228942066
    #         leg 2 (96933.01 − 95032.37) × 0.0005 = 0.950320 − 0.047516185 − 0.048466505 = 0.854337310
    #         leg 0 (96952.22 − 95992.30) × 0.0002 = 0.191984 − 0.019198460 − 0.019390444 = 0.153395096
    #         total 1.236674472
    # market: leg 1 (96500 − 95512.33) × 0.0003 = 0.296301 − 0.028653699 − 0.028950 = 0.238697301
    #         leg 2 (96940 − 95032.37) × 0.0005 = 0.953815 − 0.047516185 − 0.048470 = 0.857828815
    #         leg 0 (97000 − 95992.30) × 0.0002 = 0.201540 − 0.019198460 − 0.019400 = 0.162941540
    #         total 1.259467656
    Examples:
      | tp_order_type | leg1_exit | leg1_pnl    | leg2_exit | leg2_pnl    | leg0_exit | total_pnl   |
      | limit         | 96467.45  | 0.228942066 | 96933.01  | 0.854337310 | 96952.22  | 1.236674472 |
      | market        | 96500     | 0.238697301 | 96940     | 0.857828815 | 97000     | 1.259467656 |

  # Binance spot charges a buy's fee in the base asset: the account receives 0.1 % less BTC
  # than each buy, and this account holds no BTC of its own. The engine may only sell what it
  # holds, in whole steps of 0.00001; what is left below one step stays on the exchange.
  #   leg 0: 0.00020 − 0.0000002 = 0.0001998 → take-profit 0.00019 ; dust 0.0000098
  #   leg 1: 0.00030 − 0.0000003 = 0.0002997 → take-profit 0.00029 ; dust 0.0000097
  #   leg 2: 0.00050 − 0.0000005 = 0.0004995 → take-profit 0.00049 ; dust 0.0000095
  # USDT: −95.368344 paid for the legs ; + 0.00019 × 96952.22 + 0.00029 × 96467.45 + 0.00049 × 96933.01
  #   = 18.4209218 + 27.9755605 + 47.4971749 = 93.8936572, less the 0.1 % sell fee 0.0938936572
  #   → change 93.7997635428 − 95.368344 = −1.5685804572 ; BTC change +0.000029 (the dust)
  @t1_4 @needs_venue_change @needs_price_control
  Scenario: With buy fees taken in BTC the take-profits sell only what the account holds
    Given the exchanges charge spot buy fees in the base asset
    And a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001
    And the price of BTCUSDT on binance moved to 95000
    Then binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | sell | limit | 96952.22 | 0.00019  |
      | sell | limit | 96467.45 | 0.00029  |
      | sell | limit | 96933.01 | 0.00049  |
    When the price of BTCUSDT on binance moves to 97000
    Then binance filled a sell of 0.00019 BTCUSDT at 96952.22
    And binance filled a sell of 0.00029 BTCUSDT at 96467.45
    And binance filled a sell of 0.00049 BTCUSDT at 96933.01
    And no order was rejected by the exchange
    And the BTCUSDT 60 group on binance is listed with status "closed" and 1 of 5 pyramids
    And the pool shows 0 of 3 slots used
    And the USDT balance on binance changed by -1.5685804572
    And the BTC balance on binance changed by 0.000029

