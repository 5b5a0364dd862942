@phase4
Feature: Test 4.2 - exchange API failures and retries
  Connection errors and 5xx are retried with backoff and the command stays pending until the
  exchange is back; a lost response is resolved by looking the order up by its client order id;
  bad keys mark the account auth_failed without a retry loop; 429 answers are waited out.
  Whatever fails, no order is ever sent twice (SPEC §10).

  Background:
    Given the trading system runs with the seed user "maaz"

  @t4_2 @needs_price_control
  Scenario: The exchange goes down, the entry waits, and is sent once when it comes back
    Given binance is down
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted with outcome "opened"
    And an alert is raised about binance
    And the health of binance is not "ok"
    And binance shows no BTCUSDT orders
    When binance comes back
    And 30 seconds pass
    Then the health of binance is "ok"
    And binance received 1 market buy of 0.00020 BTCUSDT
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And binance shows 3 open orders for BTCUSDT
    And no client order id was sent twice to binance

  @t4_2 @needs_price_control
  Scenario: A lost order response is looked up by client order id, not sent again
    Given binance loses the response to the next 1 order
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    And 30 seconds pass
    Then binance received 1 market buy of 0.00020 BTCUSDT
    And the BTCUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And binance shows 3 open orders for BTCUSDT
    And no client order id was sent twice to binance

  @t4_2 @needs_price_control
  Scenario: Bad API keys mark the account auth_failed, raise an alert and stop new entries
    Given binance rejects the API keys
    When a long signal for BTCUSDT 60 on binance is sent at 95992.3 with order size 0.001
    Then the webhook is accepted
    And the health of binance is "auth_failed"
    And an alert is raised about binance
    And binance shows no BTCUSDT orders
    And no BTCUSDT group on binance holds a pool slot
    When 1 minute passes
    And a long signal for ETHUSDT 60 on binance is sent at 3394.0
    Then the webhook is accepted with outcome "rejected" and reason "exchange_auth_failed"
    And binance answered at most 2 requests with an authentication error
    When a long signal for SOLUSDT 60 on bybit is sent at 125.97
    Then the webhook is accepted with outcome "opened"
    And the health of bybit is "ok"

  # 100 distinct signals: the 9 seed symbols × 2 exchanges × timeframes 15, 60, 240, 1440, 10080, 43200
  # in that order. Pool 3 → the first 3 open, every other one waits in the queue.
  @t4_2 @needs_price_control
  Scenario: A burst of 100 signals under rate limits loses nothing and duplicates nothing
    Given the exchanges answer the next 3 order requests with a rate limit
    When 100 distinct long signals are sent at once
    Then every one of the 100 signals has a stored outcome
    And 3 of them have outcome "opened"
    And 97 of them have outcome "queued"
    And the queue holds 97 signals
    And an alert is raised about the rate limit
    And no client order id was sent twice to binance
    And no client order id was sent twice to bybit
    And every order the engine sent is known to its exchange
    And the service is up
