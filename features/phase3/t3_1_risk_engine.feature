@phase3
Feature: Test 3.1 - the risk engine offsets a full losing group with winners' profit
  A group holding max_pyramids pyramids whose DCA legs have all filled starts the post-full
  timer (2 minutes for the seed user). Once it has expired and the group is at or below the
  loss threshold (-3 %), the risk engine closes part of it and realises matching profit from
  up to 3 winners, so that the offset never realises a net loss (SPEC §9).

  The plan asks to "adjust TP targets" so that a +10 % winner stays open: every grid level's
  tp_percent is raised to 20 %, the rest of the seed grid is kept. Entry prices are the current
  price table (SPEC §14): DOGEUSDT 0.195, XRPUSDT 1.874, ADAUSDT 0.387, TRXUSDT 0.2468,
  SOLUSDT 125.97. Fees are 0.1 %; "net capacity" of a winner = its profit − 0.1 % × mark × qty.

  Seed-grid fills used below (Binance filters):
    DOGEUSDT, 100 USDT : leg 0 = 20 / 0.195 = 102.56 → 102 (step 1) at 0.195 ; legs 1-2 rest below
    XRPUSDT, 100 USDT  : 10.6 @ 1.874 + 16.0 @ 1.8646 + 26.9 @ 1.8552 = 53.5 for 99.60288
                         (20 / 1.874 = 10.67 → 10.6 ; 1.874 × 0.995 = 1.86463 → 1.8646 ; 30 / 1.8646 → 16.0 ;
                          1.874 × 0.99 = 1.85526 → 1.8552 ; 50 / 1.8552 = 26.95 → 26.9)
    XRPUSDT, 15 XRP    : C = 15 × 1.874 = 28.11 → 3.0 @ 1.874 + 4.5 @ 1.8646 + 7.5 @ 1.8552 = 15.0 for 27.9267
    ADAUSDT, 75 ADA    : C = 75 × 0.387 = 29.025 → 15.0 @ 0.387 + 22.6 @ 0.3850 + 37.8 @ 0.3831 = 75.4 for 28.98718

  Background:
    Given the trading system runs with the seed user "maaz"
    And the user's take-profit targets are 20 % on every grid level

  @t3_1 @needs_price_control
  Scenario: Winners cover less than the loss - the loser closes in part, the winner fully
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And the price of DOGEUSDT on binance moved to 0.2145
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874
    When the price of XRPUSDT on binance moves to 1.7686
    Then the XRPUSDT 60 group on binance has 15 of 15 entry legs filled
    # 5 pyramids: 267.5 XRP for 498.0144 → average 1.8617360747…
    # unrealised = 267.5 × 1.7686 − 498.0144 = −24.9139 → −24.9139 / 498.0144 = −5.0026 %
    And the XRPUSDT 60 group on binance shows unrealised PnL -24.9139 and -5.0026 %
    # DOGE: 102 × (0.2145 − 0.195) = 1.989 → +10 %
    And the DOGEUSDT 60 group on binance shows unrealised PnL 1.989 and 10 %
    And the risk view shows the XRPUSDT 60 group on binance with a timer expiring 120 seconds after its start
    And no risk action has been recorded
    # the timer expires 2 minutes after the last DCA fill; the scheduler runs the risk cycle
    When 130 seconds pass
    Then logs show "Risk engine activated"
    # required 24.9139, available 1.989 → covered 1.989 ; fraction 267.5 × 1.989 / 24.9139 = 21.36 → 21.3
    # loser cost per unit = (1.8617360747 − 1.7686) + 0.1 % × 1.7686 = 0.0949046748
    # DOGE net capacity = 1.989 − 0.1 % × 0.2145 × 102 = 1.967121 ; 1.967121 / 0.0949046748 = 20.73 → 20.7
    # so XRP closes min(21.3, 20.7) = 20.7 and DOGE must pay 20.7 × 0.0949046748 = 1.9645268:
    # 1.9645268 / (0.0195 − 0.0002145) = 101.87 → 102, all of it
    And the last risk action closed 20.7 of the XRPUSDT loser with winners:
      | symbol   | quantity |
      | DOGEUSDT | 102      |
    And the last risk action covered 1.989 USD of a -24.9139 USD loss at -5.0026 %
    And the last risk action has a net of at least 0
    And binance filled a sell of 20.7 XRPUSDT at 1.7686
    And binance filled a sell of 102 DOGEUSDT at 0.2145
    # DOGE realises 1.989 − 0.021879 = 1.967121 on this close. XRP's 20.7 is taken pro rata from its
    # 15 legs in 0.1 steps, so its realised loss is 20.7 × 1.7686 − (cost of the shares taken)
    # − 0.036610 fee ≈ −1.9645 (the exact cent depends on which legs get the rounding steps)
    And the realised PnL of the DOGEUSDT 60 group on binance rose by 1.967121 in the risk close
    And the realised PnL of the XRPUSDT 60 group on binance fell by 1.96 in the risk close
    And the risk close realised no net loss across the XRPUSDT and DOGEUSDT groups
    # 267.5 − 20.7 = 246.8 stays open and keeps its slot; DOGE closed fully and freed its slot
    And the XRPUSDT 60 group on binance is listed with status "active" and 5 of 5 pyramids
    And the XRPUSDT 60 group on binance has average entry 1.8617 and open quantity 246.8
    And the DOGEUSDT 60 group on binance is listed with status "closed" and 1 of 5 pyramids
    And the pool shows 1 of 3 slots used

  @t3_1 @needs_price_control
  Scenario: Winners cover more than the loss - the loser closes fully, the winner in part
    # DOGE 2000 contracts: C = 2000 × 0.195 = 390 ; leg 0 = 390 × 20 % / 0.195 = 400 DOGE
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195 with order size 2000
    And the price of DOGEUSDT on binance moved to 0.2145
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874 with order size 15
    When the price of XRPUSDT on binance moves to 1.7686
    # XRP: 75.0 for 139.6335 (average 1.86178) → 75 × 1.7686 − 139.6335 = −6.9885 (−5.0049 %)
    # DOGE: 400 × 0.0195 = 7.8 > 6.9885
    Then the XRPUSDT 60 group on binance shows unrealised PnL -6.9885 and -5.0049 %
    And the DOGEUSDT 60 group on binance shows unrealised PnL 7.8 and 10 %
    When 130 seconds pass
    Then logs show "Risk engine activated"
    # covered = required → XRP closes all 75.0, realising −6.9885 − 0.1 % × 132.645 = −7.121145
    # DOGE: 7.121145 / (0.0195 − 0.0002145) = 369.25 → 370 of 400 (notional 79.365 ≥ 10)
    # DOGE realises 370 × 0.0195 − 0.1 % × 0.2145 × 370 = 7.215 − 0.079365 = 7.135635 ; net 0.01449
    And the last risk action closed 75.0 of the XRPUSDT loser with winners:
      | symbol   | quantity |
      | DOGEUSDT | 370      |
    And the last risk action covered 6.9885 USD of a -6.9885 USD loss at -5.0049 %
    And the last risk action has a net of at least 0
    And binance filled a sell of 75.0 XRPUSDT at 1.7686
    And binance filled a sell of 370 DOGEUSDT at 0.2145
    And the realised PnL of the DOGEUSDT 60 group on binance rose by 7.135635 in the risk close
    And the realised PnL of the XRPUSDT 60 group on binance fell by 7.121145 in the risk close
    And the XRPUSDT 60 group on binance is listed with status "closed" and 5 of 5 pyramids
    # DOGE keeps 30, its slot, its resting DCA legs, and a take-profit for what stays open
    # (0.195 × 1.20 = 0.234)
    And the DOGEUSDT 60 group on binance is listed with status "partially_filled" and 1 of 5 pyramids
    And the DOGEUSDT 60 group on binance has average entry 0.195 and open quantity 30
    And binance shows these open DOGEUSDT orders:
      | side | type  | price   | quantity |
      | buy  | limit | 0.19402 | 603      |
      | buy  | limit | 0.19305 | 1010     |
      | sell | limit | 0.234   | 30       |
    And the pool shows 1 of 3 slots used

  @t3_1 @needs_price_control
  Scenario: Insufficient winners - the risk engine skips
    # DOGE at 0.1951 is up 102 × 0.0001 = 0.0102 but the sale's fee 102 × 0.1951 × 0.1 % = 0.0199
    # is larger: no winner can pay for any part of the loss
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And the price of DOGEUSDT on binance moved to 0.1951
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874
    And the price of XRPUSDT on binance moved to 1.7686
    When 130 seconds pass
    And the risk engine is run
    Then the risk view shows the XRPUSDT 60 group on binance as an eligible loser
    And no risk action has been recorded
    And logs show "nothing closed"
    And binance shows no filled sell of XRPUSDT
    And binance shows no filled sell of DOGEUSDT
    And the XRPUSDT 60 group on binance has average entry 1.8617 and open quantity 267.5
    And the pool shows 2 of 3 slots used

  @t3_1 @needs_price_control
  Scenario: Several losers - the deepest loss is offset first, one offset per cycle
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And the price of DOGEUSDT on binance moved to 0.2145
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874 with order size 15
    And 5 long signals for ADAUSDT 60 on binance were sent one minute apart at 0.387 with order size 75
    When the price of XRPUSDT on binance moves to 1.7686
    And the price of ADAUSDT on binance moves to 0.3537
    # XRP −5.0049 % ; ADA: 377.0 for 144.9359 → 377 × 0.3537 − 144.9359 = −11.591 (−7.9973 %)
    Then the ADAUSDT 60 group on binance shows unrealised PnL -11.591 and -7.9973 %
    And the XRPUSDT 60 group on binance shows unrealised PnL -6.9885 and -5.0049 %
    When 130 seconds pass
    Then the risk view shows the XRPUSDT 60 group on binance as an eligible loser
    And the risk view shows the ADAUSDT 60 group on binance as an eligible loser
    And 1 risk action has been recorded
    # ADAUSDT (−7.9973 %) is picked before XRPUSDT (−5.0049 %)
    And the last risk action offset the ADAUSDT loser at -7.9973 %
    And binance shows no filled sell of XRPUSDT

  @t3_1 @needs_price_control
  Scenario: Three winners are combined, the fourth is left alone
    # pool raised to 5 to hold 4 winners and the loser
    Given the user's config sets "risk_config.max_open_positions_global" to "5"
    And a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And a long signal for ADAUSDT 60 on binance was sent at 0.387
    And a long signal for TRXUSDT 60 on binance was sent at 0.2468
    And a long signal for SOLUSDT 60 on binance was sent at 125.97
    # leg 0: DOGE 102 ; ADA 20 / 0.387 = 51.68 → 51.6 ; TRX 20 / 0.2468 = 81.04 → 81.0 ; SOL 20 / 125.97 → 0.158
    And the price of DOGEUSDT on binance moved to 0.2145
    And the price of ADAUSDT on binance moved to 0.4180
    And the price of TRXUSDT on binance moved to 0.2616
    And the price of SOLUSDT on binance moved to 131.01
    # profits: DOGE 102 × 0.0195 = 1.989 ; ADA 51.6 × 0.031 = 1.5996 ; TRX 81.0 × 0.0148 = 1.1988 ;
    #          SOL 0.158 × 5.04 = 0.79632 (the smallest: not among the best 3)
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874
    And the price of XRPUSDT on binance moved to 1.7686
    When 130 seconds pass
    Then logs show "Risk engine activated"
    # covered = 1.989 + 1.5996 + 1.1988 = 4.7874 ; fraction 267.5 × 4.7874 / 24.9139 = 51.40 → 51.4
    # capacity = 1.967121 + (1.5996 − 0.0215688) + (1.1988 − 0.0211896) = 4.7227626
    # 4.7227626 / 0.0949046748 = 49.76 → 49.7 ; the winners pay 49.7 × 0.0949046748 = 4.7167623:
    # DOGE all 102 (1.967121), ADA all 51.6 (1.5780312), TRX the rest 1.1716111 at
    # 0.0148 − 0.1 % × 0.2616 = 0.0145384 a unit: 80.59 → 80.6 of its 81.0
    And the last risk action closed 49.7 of the XRPUSDT loser with winners:
      | symbol   | quantity |
      | DOGEUSDT | 102      |
      | ADAUSDT  | 51.6     |
      | TRXUSDT  | 80.6     |
    And the last risk action has a net of at least 0
    And binance shows no filled sell of SOLUSDT
    And the SOLUSDT 60 group on binance has average entry 125.97 and open quantity 0.158
    # DOGE and ADA closed; XRP, TRX (0.4 left) and SOL keep their slots
    And the pool shows 3 of 5 slots used

  @t3_1 @needs_price_control
  Scenario: A blocked loser is left alone until it is unblocked
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And the price of DOGEUSDT on binance moved to 0.2145
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874
    And the price of XRPUSDT on binance moved to 1.7686
    When the risk engine is told to block the XRPUSDT 60 group on binance
    And 130 seconds pass
    And the risk engine is run
    Then the risk view shows the XRPUSDT 60 group on binance as blocked and not eligible
    And no risk action has been recorded
    And logs show "Risk control: block" for XRPUSDT
    When the risk engine is told to unblock the XRPUSDT 60 group on binance
    And the risk engine is run
    Then 1 risk action has been recorded
    And the last risk action closed 20.7 of the XRPUSDT loser with winners:
      | symbol   | quantity |
      | DOGEUSDT | 102      |

  @t3_1 @needs_price_control
  Scenario: A loser skipped once is offset on the following cycle
    Given a long signal for DOGEUSDT 60 on binance was sent at 0.195
    And the price of DOGEUSDT on binance moved to 0.2145
    And 5 long signals for XRPUSDT 60 on binance were sent one minute apart at 1.874
    And the price of XRPUSDT on binance moved to 1.7686
    # blocked while the timer runs out, so no scheduled cycle acts before the skip is set
    And the risk engine was told to block the XRPUSDT 60 group on binance
    And 130 seconds passed
    When the risk engine is told to skip the XRPUSDT 60 group on binance once
    And the risk engine is told to unblock the XRPUSDT 60 group on binance
    And the risk engine is run
    Then no risk action has been recorded
    And logs show "Risk control: skip_once" for XRPUSDT
    When the risk engine is run
    Then 1 risk action has been recorded
    And the last risk action closed 20.7 of the XRPUSDT loser with winners:
      | symbol   | quantity |
      | DOGEUSDT | 102      |
