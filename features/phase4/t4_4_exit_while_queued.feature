@phase4
Feature: Test 4.4 - exit while queued
  An exit for a key that only waits in the queue removes the queued entry; there is nothing to
  close (SPEC §6.5: outcome exit_removed_queued).

  Background:
    Given the trading system runs with the seed user "maaz"
    And the pool is filled with ETHUSDT 60 on binance, SOLUSDT 60 on bybit and XRPUSDT 15 on binance
    And a long signal for TRXUSDT 60 on binance was queued

  @t4_4
  Scenario: Exiting a queued TRXUSDT signal removes it from the queue
    Given the queue holds 1 signal
    When an exit signal for TRXUSDT 60 on binance is sent
    Then the webhook is accepted with outcome "exit_removed_queued"
    And the queue holds 0 signals
    And logs show "Exit for queued signal, removing from queue" for TRXUSDT
    And no TRXUSDT group exists
    And binance shows no TRXUSDT orders
    And the pool shows 3 of 3 slots used
    When the queue is exported from the database
    Then the export holds no waiting queue entry for TRXUSDT
