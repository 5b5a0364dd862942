@phase2
Feature: Test 2.2 - pool limit and the waiting queue
  With max_open_positions_global 3 the fourth group waits in the queue. Queued signals are
  ranked (same_pair_timeframe, deepest_loss_percent, highest_replacement, fifo) and the top one
  is executed as soon as a slot frees (SPEC §7). Entry prices missing from the plan's webhooks
  are the exchange's last price (SPEC §2); sizes default to 100 USDT.

  Background:
    Given the trading system runs with the seed user "maaz"
    And the pool is filled with ETHUSDT 60 on binance, SOLUSDT 60 on bybit and XRPUSDT 15 on binance

  @t2_2 @needs_price_control
  Scenario: A full pool queues signals, ranks them by loss and promotes the best when a slot frees
    Then the pool shows 3 of 3 slots used
    When the user sends the plan's webhook:
      | flag      | value   |
      | exchange  | BYBIT   |
      | symbol    | DOTUSDT |
      | timeframe | 60      |
      | side      | long    |
      | type      | signal  |
    Then the webhook is accepted with outcome "queued"
    And the queue holds 1 signal
    And the queue is:
      | rank | exchange | symbol  | timeframe | entry_price | replacement_count |
      | 1    | bybit    | DOTUSDT | 60        | 2.075       | 0                 |
    And logs show "Pool full, signal queued" for DOTUSDT
    And bybit shows no DOTUSDT orders
    When the positions are exported from the database
    Then the export holds no DOTUSDT group
    When the queue is exported from the database
    Then the export holds a waiting queue entry for DOTUSDT 60 on bybit
    When the user sends the plan's webhook:
      | flag      | value   |
      | exchange  | BYBIT   |
      | symbol    | TRXUSDT |
      | timeframe | 60      |
      | side      | long    |
      | type      | signal  |
    Then the webhook is accepted with outcome "queued"
    # TRX falls after its signal: loss % = (0.2400 − 0.2468) / 0.2468 × 100 = −2.7553 %,
    # DOT is unchanged at 0 %: deepest_loss_percent puts TRX first although DOT is older
    When the price of TRXUSDT on bybit moves to 0.2400
    Then the queue holds 2 signals
    And the queue is:
      | rank | exchange | symbol  | timeframe | entry_price | loss_percent |
      | 1    | bybit    | TRXUSDT | 60        | 0.2468      | -2.7553      |
      | 2    | bybit    | DOTUSDT | 60        | 2.075       | 0            |
    And the pool shows 3 of 3 slots used
    # a slot frees: the exit of Test 1.5 on ETHUSDT
    When an exit signal for ETHUSDT 60 on binance is sent
    Then the webhook is accepted with outcome "exited"
    And logs show "Queue entry promoted" for TRXUSDT
    And the TRXUSDT 60 group on bybit is listed with status "partially_filled" and 1 of 5 pyramids
    And bybit received a market buy of TRXUSDT
    And the pool shows 3 of 3 slots used
    And the queue holds 1 signal
    And the queue is:
      | rank | exchange | symbol  | timeframe |
      | 1    | bybit    | DOTUSDT | 60        |
    And bybit shows no DOTUSDT orders
