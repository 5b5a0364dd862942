@phase1
Feature: Test 1.5 - full exit signal (Binance)
  An exit signal closes the whole group: every resting DCA and take-profit order is cancelled,
  the open quantity is sold at market, realised PnL is booked, the group is closed with its
  closed_at time and its pool slot is released (SPEC §6.5).

  Background:
    Given the trading system runs with the seed user "maaz"
    And a long signal for BTCUSDT 60 on binance was sent at 95992.3 with order size 0.001
    And the price of BTCUSDT on binance moved to 95500

  @t1_5 @needs_price_control
  Scenario: The plan's exit webhook closes the BTCUSDT group and frees its slot
    Given the BTCUSDT 60 group on binance has 2 of 3 entry legs filled
    And binance shows 3 open orders for BTCUSDT
    When the user sends the plan's webhook:
      | flag      | value   |
      | exchange  | BINANCE |
      | symbol    | BTCUSDT |
      | timeframe | 60      |
      | action    | sell    |
      | type      | exit    |
    Then the webhook is accepted with outcome "exited"
    And binance shows 0 open orders for BTCUSDT
    And binance cancelled the buy of 0.00050 BTCUSDT at 95032.37
    # open quantity = leg 0 0.00020 + leg 1 0.00030 = 0.00050, sold at the market price 95500
    And binance filled a sell of 0.00050 BTCUSDT at 95500
    And the BTCUSDT 60 group on binance is listed with status "closed" and 1 of 5 pyramids
    And the BTCUSDT 60 group on binance has a closed_at time not before its created_at time
    # realised = 0.0005 × 95500 − (19.198460 + 28.653699)
    #          − entry fees 0.1 % × 47.852159 − exit fee 0.1 % × 47.75
    #          = 47.75 − 47.852159 − 0.047852159 − 0.04775 = −0.197761159
    And the realised PnL of the BTCUSDT 60 group on binance is -0.197761159
    And the pool shows 0 of 3 slots used
    And no open position is listed
    And the closed positions list holds the BTCUSDT 60 group on binance
    And the metrics show realised PnL -0.197761159 and 0 open groups
    When the positions are exported from the database
    Then the export holds the BTCUSDT 60 group on binance with status "closed" and a closed_at time
