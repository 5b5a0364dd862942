@phase1
Feature: Test 1.3 - pyramid signals up to 5/5 (Binance)
  A signal for the same exchange, pair and timeframe as an open group is a pyramid: it bypasses
  the pool (same_pair_timeframe), gets its own DCA grid, and max_pyramids (5) counts every
  entry, the first included (SPEC §1, §14). The plan's pyramid prices 52000/53000/54000 are
  stale; every pyramid uses the current BTCUSDT price 95992.3 (SPEC §14). Signals come a
  minute apart, as TradingView alerts on bar closes do: identical payloads inside the 30 s
  duplicate window would be duplicates (SPEC §2).

  Background:
    Given the trading system runs with the seed user "maaz"
    And a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001

  @t1_3 @needs_price_control
  Scenario: Four pyramids fill the group to 5/5, the timer starts and a sixth is refused
    Given 1 minute passes
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "pyramid"
    And logs show "Pyramid continuation detected" for BTCUSDT
    And the pool shows 1 of 3 slots used
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 2 of 5 pyramids
    # pyramid 1 has its own grid from its own leg-0 fill (95992.30): same prices as pyramid 0
    And the BTCUSDT 60 group on binance has 6 legs
    And the BTCUSDT 60 group on binance has these legs:
      | pyramid | leg | price    | quantity | status | average_fill_price |
      | 1       | 0   |          | 0.00020  | filled | 95992.30           |
      | 1       | 1   | 95512.33 | 0.00030  | resting |                    |
      | 1       | 2   | 95032.37 | 0.00050  | resting |                    |
    When the positions are exported from the database
    Then the export holds the BTCUSDT 60 group on binance with 2 pyramids
    When 3 more long signals for BTCUSDT 60 on binance are sent one minute apart at 95992.3 with order size 0.001
    Then each of them is accepted with outcome "pyramid"
    And the pool shows 1 of 3 slots used
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 5 of 5 pyramids
    # 5 pyramids × 3 legs of the seed grid = 15 legs (SPEC §14)
    And the BTCUSDT 60 group on binance has 15 legs
    And binance received 5 market buys of 0.00020 BTCUSDT
    # the price trades through every DCA level: the 10 resting DCA legs fill at their limits
    When the price of BTCUSDT on binance moves to 95000
    Then the BTCUSDT 60 group on binance has 15 of 15 entry legs filled
    # 5 × (0.00020 + 0.00030 + 0.00050) = 0.00500 ; each pyramid costs 95.368344,
    # so the average stays 5 × 95.368344 / 0.005 = 95368.344
    And the BTCUSDT 60 group on binance has average entry 95368.344 and open quantity 0.00500
    # timer_start_condition after_all_dca_filled + require_full_pyramids: both hold now;
    # post_full_wait_minutes 2 → the timer expires 120 s after it started
    And logs show "Risk timer started" for BTCUSDT
    And the risk view shows the BTCUSDT 60 group on binance with a timer expiring 120 seconds after its start
    And binance shows 15 open sell orders for BTCUSDT
    When 1 minute passes
    And a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "rejected" and reason "max_pyramids_reached"
    And the BTCUSDT 60 group on binance is listed with status "active" and 5 of 5 pyramids
    And binance received 5 market buys of 0.00020 BTCUSDT
    And binance shows 0 open buy orders for BTCUSDT
