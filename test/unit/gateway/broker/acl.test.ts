import { describe, expect, it } from 'vitest';
import { ANONYMOUS, decidePublish, userIdentity } from '../../../../src/gateway/broker/acl.js';
import { createTopicParser } from '../../../../src/gateway/topics.js';

const topics = createTopicParser({ telemetry: 'site/{deviceId}/t', meta: 'site/{deviceId}/m' });

describe('decidePublish', () => {
  it('allows a user its own device on every template and refuses other devices', () => {
    const me = userIdentity('sensor-1', undefined);
    expect(decidePublish(me, 'site/sensor-1/t', topics)).toEqual({ allowed: true });
    expect(decidePublish(me, 'site/sensor-1/m', topics)).toEqual({ allowed: true });
    expect(decidePublish(me, 'site/sensor-2/t', topics)).toMatchObject({ allowed: false, reason: 'other_device', deviceId: 'sensor-2' });
    // The default templates are not this parser's: a topic of another layout is no device topic here.
    expect(decidePublish(me, 'devices/sensor-2/telemetry', topics)).toEqual({ allowed: true });
  });

  it('uses the mapping instead of the name, and refuses everything for a name that is no device id', () => {
    const gw = userIdentity('gw', ['a', 'b']);
    expect(decidePublish(gw, 'site/a/t', topics).allowed).toBe(true);
    expect(decidePublish(gw, 'site/gw/t', topics)).toMatchObject({ allowed: false, reason: 'other_device' });
    const odd = userIdentity('ops team', undefined);
    expect(decidePublish(odd, 'site/a/t', topics)).toMatchObject({ allowed: false, reason: 'no_device' });
  });

  it('lets anonymous clients and device=* publish for any device', () => {
    expect(decidePublish(ANONYMOUS, 'site/x/t', topics).allowed).toBe(true);
    expect(decidePublish(userIdentity('bridge', '*'), 'site/y/t', topics).allowed).toBe(true);
  });
});
