@phase1
Feature: Tiny - a rule broken on purpose

  @t1_1
  Scenario: Leg 0 is sized wrong
    Given a 100 USDT long at 96472.26 on the seed grid with BTCUSDT's filters
    Then leg 0 buys 0.00021 at 96472.26
