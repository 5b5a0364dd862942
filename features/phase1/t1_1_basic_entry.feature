@phase1
Feature: Test 1.1 - basic entry signal on Binance
  The seed user "maaz" sends the plan's first webhook. The engine parses it, opens a position
  group, fetches the market's precision rules and sends leg 0 of the seed grid; once leg 0
  fills the two DCA legs rest on the exchange (SPEC §4 worked example, SPEC §14: the current
  price table is used as the entry price instead of the plan's stale prices).

  Background:
    Given the trading system runs with the seed user "maaz"

  @t1_1
  Scenario: The plan's entry webhook opens a BTCUSDT 1h group on Binance
    When the user sends the plan's webhook:
      | flag        | value    |
      | exchange    | BINANCE  |
      | symbol      | BTCUSDT  |
      | timeframe   | 60       |
      | action      | buy      |
      | side        | long     |
      | type        | signal   |
      | entry-price | 95992.3  |
      | close-price | 95992.3  |
      | order-size  | 0.001    |
    Then the webhook is accepted with outcome "opened"
    And logs show the webhook was received for BTCUSDT
    And the stored signal for BTCUSDT is a long "signal" on binance, timeframe 60, entry price 95992.3
    And the precision rules of BTCUSDT on binance are tick 0.01, step 0.00001 and min notional 5
    # capital C = order size × entry = 0.001 × 95992.3 = 95.9923
    # leg 0 = C × 20 % / 95992.3 = 0.0002 → 0.00020 (step 0.00001), a market buy
    And binance received a market buy of 0.00020 BTCUSDT
    And the pool shows 1 of 3 slots used
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    # legs 1 and 2 are priced from leg 0's fill F = 95992.30:
    #   leg 1: F × 0.995 = 95512.3385 → 95512.33 ; 95.9923 × 30 % / 95512.33 = 0.0003015 → 0.00030
    #   leg 2: F × 0.990 = 95032.377  → 95032.37 ; 95.9923 × 50 % / 95032.37 = 0.0005050 → 0.00050
    # leg 0's take-profit: 95992.30 × 1.01 = 96952.223 → 96952.22 (tick 0.01), for its 0.00020
    # (blank cells are not checked)
    And the BTCUSDT 60 group on binance has these legs:
      | pyramid | leg | price    | quantity | status | filled_quantity | average_fill_price | tp_price |
      | 0       | 0   |          | 0.00020  | filled | 0.00020         | 95992.30           | 96952.22 |
      | 0       | 1   | 95512.33 | 0.00030  | resting | 0               |                    |          |
      | 0       | 2   | 95032.37 | 0.00050  | resting | 0               |                    |          |
    And binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | buy  | limit | 95512.33 | 0.00030  |
      | buy  | limit | 95032.37 | 0.00050  |
      | sell | limit | 96952.22 | 0.00020  |
    And every BTCUSDT order on binance is on the 0.01 tick and the 0.00001 step
    When the positions are exported from the database
    Then the export holds the BTCUSDT 60 group on binance with status "partially_filled"
