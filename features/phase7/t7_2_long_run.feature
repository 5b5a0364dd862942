@phase7
Feature: Test 7.2 - a 24-hour run in simulated time
  The simulator's clock runs 24 hours while signals arrive every hour on three pairs
  (BTCUSDT and ETHUSDT on Binance, SOLUSDT on Bybit) and prices swing every half hour through
  the seed grid's DCA levels and take-profits, so groups open, pyramid, fill, take profit, exit and reopen.
  At the end every position is tracked (the engine's open quantities equal the exchange's
  fills), nothing was sent twice, memory is flat and the service's log has rotated.

  Memory: tracemalloc traces the last 6 hours (6 signals, every allocation in the process);
  the engine legitimately keeps each closed group in its state (a few kB each), so a bound of
  2 MB leaves room for that and fails on a per-signal leak of ~350 kB or more. Over hours 4 to
  24 the interpreter's count of allocated blocks (sys.getallocatedblocks after gc) is bounded
  too. Measured on the sim backend: 0.16 MB traced over the last 6 hours, about 4,300 more
  blocks over hours 4 to 24; the bounds are about 12 and 4.6 times that. The service log rotates at 16 kB (the backend's setting) with 3 backups.

  Background:
    Given the trading system runs with the seed user "maaz"

  @t7_2 @needs_price_control
  Scenario: 24 simulated hours with periodic signals
    When 24 hours are simulated with a signal every 60 minutes, memory traced over the last 6 hours
    Then every open group's quantity matches its fills on the exchange
    And every order the engine sent is known to its exchange
    And no client order id was sent twice to binance
    And no client order id was sent twice to bybit
    And traced memory grew by less than 2 MB over those hours
    And the interpreter holds fewer than 20000 more memory blocks at the end than at hour 4
    And the service log has rotated at least once
    And the service is up
