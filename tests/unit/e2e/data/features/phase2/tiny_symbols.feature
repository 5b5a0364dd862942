@phase2
Feature: Tiny - symbols on both exchanges

  @t2_1
  Scenario Outline: BTC/USDT names the same market on <exchange>
    Given the symbol "BTC/USDT" on <exchange>
    Then it is the market BTCUSDT

    Examples:
      | exchange |
      | binance  |
      | bybit    |
