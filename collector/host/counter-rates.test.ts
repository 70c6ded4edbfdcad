import { describe, expect, it } from 'vitest';
import { type CounterReading, counterRates } from './counter-rates.ts';

type Case = {
  name: string;
  previous: [string, CounterReading][];
  ts: number;
  counters: [string, number][];
  rates: [string, number][];
  state: [string, CounterReading][];
};

const T = 1_000_000;

const cases: Case[] = [
  {
    name: 'first reading emits no rate and becomes the baseline',
    previous: [],
    ts: T,
    counters: [['rx:eth0', 500]],
    rates: [],
    state: [['rx:eth0', { ts: T, value: 500 }]],
  },
  {
    name: 'rate is the delta per second',
    previous: [['rx:eth0', { ts: T, value: 1_000 }]],
    ts: T + 2_000,
    counters: [['rx:eth0', 5_000]],
    rates: [['rx:eth0', 2_000]],
    state: [['rx:eth0', { ts: T + 2_000, value: 5_000 }]],
  },
  {
    name: 'an unchanged counter has rate 0',
    previous: [['tx:eth0', { ts: T, value: 42 }]],
    ts: T + 10_000,
    counters: [['tx:eth0', 42]],
    rates: [['tx:eth0', 0]],
    state: [['tx:eth0', { ts: T + 10_000, value: 42 }]],
  },
  {
    name: 'a counter that went down is a reset: no rate, new baseline',
    previous: [['rx:eth0', { ts: T, value: 9_000 }]],
    ts: T + 1_000,
    counters: [['rx:eth0', 100]],
    rates: [],
    state: [['rx:eth0', { ts: T + 1_000, value: 100 }]],
  },
  {
    name: 'after a reset the next interval has a rate again',
    previous: [['rx:eth0', { ts: T + 1_000, value: 100 }]],
    ts: T + 2_000,
    counters: [['rx:eth0', 600]],
    rates: [['rx:eth0', 500]],
    state: [['rx:eth0', { ts: T + 2_000, value: 600 }]],
  },
  {
    name: 'time that did not move forward gives no rate',
    previous: [['rx:eth0', { ts: T, value: 100 }]],
    ts: T,
    counters: [['rx:eth0', 200]],
    rates: [],
    state: [['rx:eth0', { ts: T, value: 200 }]],
  },
  {
    name: 'time that went back gives no rate',
    previous: [['rx:eth0', { ts: T, value: 100 }]],
    ts: T - 5_000,
    counters: [['rx:eth0', 200]],
    rates: [],
    state: [['rx:eth0', { ts: T - 5_000, value: 200 }]],
  },
  {
    name: 'a counter gone from the sample is forgotten',
    previous: [
      ['rx:eth0', { ts: T, value: 100 }],
      ['rx:veth1', { ts: T, value: 100 }],
    ],
    ts: T + 1_000,
    counters: [['rx:eth0', 300]],
    rates: [['rx:eth0', 200]],
    state: [['rx:eth0', { ts: T + 1_000, value: 300 }]],
  },
  {
    name: 'a new counter next to a known one starts without a rate',
    previous: [['rx:eth0', { ts: T, value: 100 }]],
    ts: T + 1_000,
    counters: [
      ['rx:eth0', 300],
      ['rx:eth1', 50],
    ],
    rates: [['rx:eth0', 200]],
    state: [
      ['rx:eth0', { ts: T + 1_000, value: 300 }],
      ['rx:eth1', { ts: T + 1_000, value: 50 }],
    ],
  },
  {
    name: 'non-finite or negative readings are dropped with their baseline',
    previous: [
      ['a', { ts: T, value: 1 }],
      ['b', { ts: T, value: 1 }],
      ['c', { ts: T, value: 1 }],
    ],
    ts: T + 1_000,
    counters: [
      ['a', Number.NaN],
      ['b', -1],
      ['c', Number.POSITIVE_INFINITY],
    ],
    rates: [],
    state: [],
  },
  {
    name: 'fractional seconds',
    previous: [['rx:eth0', { ts: T, value: 0 }]],
    ts: T + 250,
    counters: [['rx:eth0', 1_000]],
    rates: [['rx:eth0', 4_000]],
    state: [['rx:eth0', { ts: T + 250, value: 1_000 }]],
  },
];

describe('counterRates', () => {
  it.each(cases)('$name', (c) => {
    const out = counterRates(new Map(c.previous), c.ts, c.counters);
    expect([...out.rates]).toEqual(c.rates);
    expect([...out.state]).toEqual(c.state);
  });

  it('does not modify the previous state', () => {
    const previous = new Map([['rx:eth0', { ts: T, value: 1 }]]);
    counterRates(previous, T + 1_000, [['rx:eth0', 2]]);
    expect([...previous]).toEqual([['rx:eth0', { ts: T, value: 1 }]]);
  });
});
