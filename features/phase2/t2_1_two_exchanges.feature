@phase2
Feature: Test 2.1 - simultaneous positions on Binance and Bybit
  One user trades on both exchanges at once. Each group uses its own exchange's filters, its
  orders go only to its own exchange, and both hold a pool slot. The plan's entry prices (3000,
  100) are stale: the current ETHUSDT 3394.0 and SOLUSDT 125.97 are used (SPEC §14); the plan
  gives no order size, so each pyramid commits the default capital of 100 USDT (SPEC §2).

  Background:
    Given the trading system runs with the seed user "maaz"

  @t2_1 @needs_price_control
  Scenario: ETHUSDT on Binance and SOLUSDT on Bybit run side by side
    When the user sends the plan's webhook:
      | flag        | value   |
      | exchange    | BINANCE |
      | symbol      | ETHUSDT |
      | timeframe   | 60      |
      | side        | long    |
      | type        | signal  |
      | entry-price | 3394.0  |
    Then the webhook is accepted with outcome "opened"
    When the user sends the plan's webhook:
      | flag        | value   |
      | exchange    | BYBIT   |
      | symbol      | SOLUSDT |
      | timeframe   | 60      |
      | side        | long    |
      | type        | signal  |
      | entry-price | 125.97  |
    Then the webhook is accepted with outcome "opened"
    And the pool shows 2 of 3 slots used
    And the precision rules of ETHUSDT on binance are tick 0.01, step 0.0001 and min notional 5
    And the precision rules of SOLUSDT on bybit are tick 0.01, step 0.001 and min notional 5
    # Binance ETHUSDT (tick 0.01, step 0.0001), C = 100:
    #   leg 0: 100 × 20 % / 3394.0 = 0.0058927 → 0.0058 (market)
    #   leg 1: 3394.00 × 0.995 = 3377.03 ; 30 / 3377.03 = 0.0088835 → 0.0088 ; TP 3394.00 × 1.01 = 3427.94
    #   leg 2: 3394.00 × 0.990 = 3360.06 ; 50 / 3360.06 = 0.0148806 → 0.0148
    And binance received a market buy of 0.0058 ETHUSDT
    And binance shows these open ETHUSDT orders:
      | side | type  | price   | quantity |
      | buy  | limit | 3377.03 | 0.0088   |
      | buy  | limit | 3360.06 | 0.0148   |
      | sell | limit | 3427.94 | 0.0058   |
    # Bybit SOLUSDT (tick 0.01, step 0.001), C = 100:
    #   leg 0: 20 / 125.97 = 0.158768 → 0.158 (market)
    #   leg 1: 125.97 × 0.995 = 125.34015 → 125.34 ; 30 / 125.34 = 0.239349 → 0.239 ; TP 125.97 × 1.01 = 127.2297 → 127.22
    #   leg 2: 125.97 × 0.990 = 124.7103 → 124.71 ; 50 / 124.71 = 0.400930 → 0.400
    And bybit received a market buy of 0.158 SOLUSDT
    And bybit shows these open SOLUSDT orders:
      | side | type  | price  | quantity |
      | buy  | limit | 125.34 | 0.239    |
      | buy  | limit | 124.71 | 0.400    |
      | sell | limit | 127.22 | 0.158    |
    And the ETHUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And the SOLUSDT 60 group on bybit is listed with status "partially_filled" and 1 of 5 pyramids
    # no cross-contamination: each exchange saw only its own symbol
    And binance shows no SOLUSDT orders
    And bybit shows no ETHUSDT orders
    # spot buys pay the quote and a 0.1 % fee in quote (the suite's venues):
    #   0.0058 × 3394.00 = 19.6852 + 0.0196852 = 19.7048852 ; 0.158 × 125.97 = 19.90326 + 0.01990326 = 19.92316326
    # (the resting DCA buys only lock USDT: the total balance does not move for them)
    And the USDT balance on binance changed by -19.7048852
    And the USDT balance on bybit changed by -19.92316326
    And the ETH balance on binance changed by 0.0058
    And the SOL balance on bybit changed by 0.158
    And every order event for ETHUSDT names exchange binance
    And every order event for SOLUSDT names exchange bybit
    And the simulator recorded no rate-limit error
