@phase4
Feature: Test 4.1 - precision validation failures
  Market metadata drives every price and quantity (SPEC §5). Missing metadata holds the signal
  in the queue (block_on_missing_metadata, the default) until a refresh brings it back; a
  pyramid whose smallest leg is below the exchange's minimums is refused before any order is
  sent; an order the exchange rejects for a filter reason triggers a refresh of the rules.

  Background:
    Given the trading system runs with the seed user "maaz"

  @t4_1 @needs_price_control
  Scenario: A missing tick size pauses the signal until the metadata is fetched again
    Given binance stops reporting the tick size of BTCUSDT
    And the precision rules of BTCUSDT on binance were refreshed
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "queued" and reason "precision_missing"
    And an error is logged about "Precision metadata missing" for BTCUSDT
    And binance shows no BTCUSDT orders
    And the queue holds 1 signal
    And the service is up
    When binance reports the tick size of BTCUSDT again
    And the precision rules of BTCUSDT on binance are refreshed
    Then the queue holds 0 signals
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And binance received a market buy of 0.00020 BTCUSDT
    And every BTCUSDT order on binance is on the 0.01 tick and the 0.00001 step

  # Binance BTCUSDT: step 0.00001, min qty 0.00001, min notional 5 ; Bybit BTCUSDT: step 0.000001,
  # min qty 0.000048, min notional 1. Leg 0 = order size × 95992.3 × 20 % / 95992.3 = 20 % of the size:
  #   0.00001 → 0.000002 : Binance rounds it to 0.00000 < 0.00001 → below_min_qty
  #   0.0002  → 0.00004  : Binance 0.00004 ≥ 0.00001 but 0.00004 × 95992.3 = 3.84 < 5 → below_min_notional
  #   0.0002  → 0.000040 : Bybit 0.000040 < 0.000048 → below_min_qty
  @t4_1
  Scenario Outline: A pyramid below the exchange minimum is refused before any order (<exchange>, <order_size>)
    When a long signal for BTCUSDT 60 on <exchange> is sent at 95992.3 with order size <order_size>
    Then the webhook is accepted with outcome "rejected" and reason "<reason>"
    And logs show "<reason>" for BTCUSDT
    And <exchange> shows no BTCUSDT orders
    And the pool shows 0 of 3 slots used
    And the service is up

    Examples:
      | exchange | order_size | reason             |
      | binance  | 0.00001    | below_min_qty      |
      | binance  | 0.0002     | below_min_notional |
      | bybit    | 0.0002     | below_min_qty      |

  # The exchange changes BTCUSDT's step from 0.00001 to 0.001 while the engine still holds the old
  # rules ("invalid decimals"): leg 0's 0.00020 is not a multiple of 0.001 and the exchange answers
  # LOT_SIZE. The engine refreshes its rules; the next entry is sized on the new step.
  # Next entry, 0.01 BTC at 95992.3: C = 959.923 ; leg 0 = 191.9846 / 95992.3 = 0.002 ;
  #   leg 1 = 287.9769 / 95512.33 = 0.003015 → 0.003 ; leg 2 = 479.9615 / 95032.37 = 0.00505 → 0.005
  @t4_1 @needs_venue_change @needs_price_control
  Scenario: An order rejected by a filter triggers a precision refresh, and the next entry is correct
    Given binance changes the BTCUSDT step size to 0.001 without telling the engine
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted
    And logs show "Order rejected by the exchange" for BTCUSDT
    And the BTCUSDT 60 group on binance is listed with status "failed"
    And a precision refresh on binance is logged after the rejection
    And the pool shows 0 of 3 slots used
    When 1 minute passes
    And a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.01
    Then the webhook is accepted with outcome "opened"
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And binance received a market buy of 0.002 BTCUSDT
    And binance shows these open BTCUSDT orders:
      | side | type  | price    | quantity |
      | buy  | limit | 95512.33 | 0.003    |
      | buy  | limit | 95032.37 | 0.005    |
      | sell | limit | 96952.22 | 0.002    |
    And every BTCUSDT order on binance is on the 0.01 tick and the 0.001 step
