@e2e
Feature: The e2e flow - from prediction to profit
  The seed's end-to-end flow in nine phases (initialisation, prediction, signal generation,
  entry logic, order placement, fill verification, position monitoring, profit taking with TP
  and SL, settlement) for BTCUSDT, ETHUSDT and SOLUSDT, through the service's e2e routes:
  POST /signals/predict, POST /trades/place, GET /trades/order/{id}, GET /trades/positions.

  The service's predictor is a momentum baseline over the prices it has observed:
  predicted_return = (last − mean) / mean (8 decimals), confidence = min(0.95, 0.5 + 50 × |return|)
  (4 decimals), buy when the return is ≥ 0, else sell.

  Background:
    Given the trading system runs with the seed user "maaz"

  @e2e @needs_price_control
  Scenario: Three symbols from prediction to settlement on Binance
    # phase 1 - initialisation
    Then the backend reports healthy with binance and bybit "ok"
    # phase 2 - prediction: a first look at the seed prices, then the market moves
    When predictions are requested for BTCUSDT, ETHUSDT and SOLUSDT on binance
    And the price of BTCUSDT on binance moves to 96472.26
    And the price of ETHUSDT on binance moves to 3380.42
    And the price of SOLUSDT on binance moves to 126.35
    And predictions are requested for BTCUSDT, ETHUSDT and SOLUSDT on binance
    # observed [95992.30, 96472.26]: mean 96232.28 → (96472.26 − 96232.28) / 96232.28 = 0.00249376
    #   confidence 0.5 + 50 × 0.00249376 = 0.624688 → 0.6247
    # observed [3394.00, 3380.42]: mean 3387.21 → −6.79 / 3387.21 = −0.00200460 → sell, 0.6002
    # observed [125.97, 126.35]: mean 126.16 → 0.19 / 126.16 = 0.00150602 → buy, 0.5753
    Then the latest predictions are:
      | symbol  | action | predicted_return | confidence | price    |
      | BTCUSDT | buy    | 0.00249376       | 0.6247     | 96472.26 |
      | ETHUSDT | sell   | -0.00200460      | 0.6002     | 3380.42  |
      | SOLUSDT | buy    | 0.00150602       | 0.5753     | 126.35   |
    # phase 3 - signal generation: buy → long, sell → short; Binance spot cannot open a short,
    # so the ETHUSDT signal is skipped ("skip signal, continue" in the flow's error chart)
    When the predictions are turned into signals
    Then the signals are a long BTCUSDT and a long SOLUSDT
    And the skipped ETHUSDT short would be refused with reason "short_not_supported_on_spot"
    # phase 4 - entry logic and phase 5 - order placement: 100 USDT each, a take-profit 1 % above
    # and a stop 2 % below the current price (rounded down to the 0.01 tick):
    #   BTCUSDT TP 96472.26 × 1.01 = 97436.9826 → 97436.98 ; stop 96472.26 × 0.98 = 94542.8148 → 94542.81
    #   SOLUSDT TP 126.35 × 1.01 = 127.6135 → 127.61 ; stop 126.35 × 0.98 = 123.823 → 123.82
    When each signal is placed as a 100 USDT trade with a take-profit 1 % above and a stop 2 % below the current price
    Then every placed trade is accepted with outcome "opened" and an entry order id
    # phase 6 - fill verification: leg 0 = 20 % of 100 USDT at the current price
    #   BTCUSDT 20 / 96472.26 = 0.000207 → 0.00020 ; SOLUSDT 20 / 126.35 = 0.1583 → 0.158
    And the entry orders are filled:
      | symbol  | quantity | average_price |
      | BTCUSDT | 0.00020  | 96472.26      |
      | SOLUSDT | 0.158    | 126.35        |
    # phase 7 - position monitoring, with the TP and SL in place (the seed grid's leg-0 take-profit
    # is also 1 % above the fill)
    And the open trades are:
      | symbol  | quantity | average_entry | take_profit | stop     |
      | BTCUSDT | 0.00020  | 96472.26      | 97436.98    | 94542.81 |
      | SOLUSDT | 0.158    | 126.35        | 127.61      | 123.82   |
    # phase 8 - profit taking: SOL trades through its take-profit (leg 0's resting TP sell fills at
    # 127.61 and the trade's take-profit closes the rest of the group), BTC falls through its stop
    #   (its DCA legs fill on the way down: 0.00031 @ 95989.89 and 0.00052 @ 95507.53)
    When the price of SOLUSDT on binance moves to 128
    And the price of BTCUSDT on binance moves to 94000
    # SOL: (127.61 − 126.35) × 0.158 = 0.19908 − 0.1 % × (19.9633 + 20.16238) = 0.15895432
    # BTC: 0.00103 × 94000 = 96.82 − (19.294452 + 29.7568659 + 49.6639156 = 98.7152335)
    #      − 0.1 % × 98.7152335 − 0.1 % × 96.82 = −2.0907687335
    Then the closed trades are:
      | symbol  | exit_price | quantity | realised_pnl  |
      | SOLUSDT | 127.61     | 0.158    | 0.15895432    |
      | BTCUSDT | 94000      | 0.00103  | -2.0907687335 |
    # phase 9 - settlement: 2 closed trades, 1 win: win rate 0.5 ;
    # total 0.15895432 − 2.0907687335 = −1.9318144135
    And no trade is open
    And the metrics show realised PnL -1.9318144135 over 2 closed groups with win rate 0.5
