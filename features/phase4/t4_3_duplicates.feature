@phase4
Feature: Test 4.3 - duplicate signal handling
  Two identical webhooks arriving at the same time create one position; the second is stored
  with outcome "duplicate" and does nothing (SPEC §2).

  Background:
    Given the trading system runs with the seed user "maaz"

  @t4_3
  Scenario: Two identical ADAUSDT signals sent concurrently open one group
    When the plan's webhook is sent twice at the same time:
      | flag      | value   |
      | exchange  | BINANCE |
      | symbol    | ADAUSDT |
      | timeframe | 60      |
      | side      | long    |
      | type      | signal  |
    Then the two outcomes are "opened" and "duplicate"
    And logs show "Duplicate signal rejected" for ADAUSDT
    And the pool shows 1 of 3 slots used
    And the ADAUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    # default capital 100 at the last price 0.387: 20 / 0.387 = 51.68 → 51.6 (step 0.1)
    And binance received 1 market buy of 51.6 ADAUSDT
    And binance shows 3 open orders for ADAUSDT
    And no client order id was sent twice to binance
