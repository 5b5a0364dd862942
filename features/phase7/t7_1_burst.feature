@phase7
Feature: Test 7.1 - rapid signal burst
  The plan's burst sends 50 signals for BTC1USDT ... BTC50USDT at once. Those symbols do not
  exist: each must be stored with outcome rejected / unknown_symbol (SPEC §14). The stress
  scenario then sends 50 valid signals in a rapid sequence: the pool takes 3, the 47 others wait
  in the queue in arrival order (equal loss, no replacement: fifo decides), none is lost.

  Background:
    Given the trading system runs with the seed user "maaz"

  @t7_1 @needs_price_control
  Scenario: 50 unknown symbols are each rejected and 50 valid signals are executed or queued in order
    When the plan's 50 signals for BTC1USDT to BTC50USDT on binance are sent at once
    Then every one of the 50 signals has a stored outcome
    And 50 of them have outcome "rejected" with reason "unknown_symbol"
    And binance shows no orders
    And the service is up
    # 50 distinct keys: the 9 seed symbols × 2 exchanges × timeframes 15, 60, 240 in that order
    When 50 distinct long signals are sent in a rapid sequence
    Then every one of the 50 signals has a stored outcome
    And 3 of them have outcome "opened"
    And 47 of them have outcome "queued"
    And the queue holds 47 signals in the order they were sent
    And the pool shows 3 of 3 slots used
    And the simulator recorded no rate-limit error
    And no client order id was sent twice to binance
    And no client order id was sent twice to bybit
    And the service is up
