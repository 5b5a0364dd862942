@phase1
Feature: Tiny - the seed grid sizes a trade
  A small feature folder for testing `qtrade run` itself (tests/integration/test_qtrade_run.py).

  @t1_1
  Scenario: Leg 0 of a 100 USDT BTCUSDT trade
    Given a 100 USDT long at 96472.26 on the seed grid with BTCUSDT's filters
    Then leg 0 buys 0.00020 at 96472.26
    And leg 2 buys 0.00052 at 95507.53

  @t1_2 @skip
  Scenario: A scenario skipped before its first step
    Given a 100 USDT long at 96472.26 on the seed grid with BTCUSDT's filters

  @t1_3
  Scenario: A scenario that skips itself inside a step
    Given a backend without testnet keys
