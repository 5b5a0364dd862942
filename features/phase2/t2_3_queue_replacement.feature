@phase2
Feature: Test 2.3 - queue replacement
  A signal for a key that is already queued replaces the queued one: new entry price, size
  and payload, replacement_count + 1, the original queue time kept; the queue length does not
  change (SPEC §7). The plan's replacement price 110 is stale; 0.2450 is used for TRXUSDT.

  Background:
    Given the trading system runs with the seed user "maaz"
    And the pool is filled with ETHUSDT 60 on binance, SOLUSDT 60 on bybit and XRPUSDT 15 on binance
    And a long signal for TRXUSDT 60 on bybit was queued

  @t2_3 @needs_price_control
  Scenario: A new TRXUSDT signal replaces the queued one
    Given the queue holds 1 signal
    And 1 minute passes
    When the user sends the plan's webhook:
      | flag        | value   |
      | exchange    | BYBIT   |
      | symbol      | TRXUSDT |
      | timeframe   | 60      |
      | side        | long    |
      | type        | signal  |
      | entry-price | 0.2450  |
    Then the webhook is accepted with outcome "replaced"
    And the queue holds 1 signal
    And the queue is:
      | rank | exchange | symbol  | timeframe | entry_price | replacement_count |
      | 1    | bybit    | TRXUSDT | 60        | 0.2450      | 1                 |
    And the queued TRXUSDT signal kept its original queue time
    And logs show "Queue entry replaced" for TRXUSDT
    And bybit shows no TRXUSDT orders
