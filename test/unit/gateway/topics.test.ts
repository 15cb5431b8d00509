import { describe, expect, it } from 'vitest';
import { createTopicParser } from '../../../src/gateway/topics.js';
import { isLmjError } from '../../../src/errors.js';

describe('topic templates', () => {
  const topics = createTopicParser();

  it('parses the default telemetry and meta topics', () => {
    expect(topics.parse('devices/s-1/telemetry')).toEqual({ kind: 'telemetry', deviceId: 's-1' });
    expect(topics.parse('devices/s-1/meta')).toEqual({ kind: 'meta', deviceId: 's-1' });
    expect(topics.filters).toEqual(['devices/+/telemetry', 'devices/+/meta']);
    expect(topics.topicFor('telemetry', 'a')).toBe('devices/a/telemetry');
  });

  it.each(['devices/a/b/telemetry', 'device/a/telemetry', 'devices/a/telemetry/', '', 'devices//telemetry', '/devices/a/telemetry', 'devices/a/other'])(
    'rejects topic %j',
    (topic) => {
      try {
        topics.parse(topic);
        expect.unreachable();
      } catch (err) {
        expect(isLmjError(err, 'BAD_TOPIC') || isLmjError(err, 'BAD_DEVICE_ID')).toBe(true);
      }
    },
  );

  it.each(['..', '.', '%2e%2e', 'x'.repeat(65), 'dévice', 'a b'])('rejects device id %j in a topic with BAD_DEVICE_ID', (id) => {
    expect(() => topics.parse(`devices/${id}/telemetry`)).toThrow(expect.objectContaining({ code: 'BAD_DEVICE_ID' }));
  });

  it('supports custom templates and refuses bad ones', () => {
    const t = createTopicParser({ telemetry: 'site/7/{deviceId}', meta: 'site/7/{deviceId}/info' });
    expect(t.parse('site/7/d1')).toEqual({ kind: 'telemetry', deviceId: 'd1' });
    expect(t.parse('site/7/d1/info')).toEqual({ kind: 'meta', deviceId: 'd1' });
    expect(() => createTopicParser({ telemetry: 'devices/+/x' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => createTopicParser({ telemetry: 'a/{deviceId}/{deviceId}' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => createTopicParser({ telemetry: 'a/{deviceId}', meta: 'a/{deviceId}' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });

  it('rejects $-topics as reserved for the broker, also where a template would match them', () => {
    const t = createTopicParser({ telemetry: 'x/{deviceId}/SYS', meta: 'x/{deviceId}/meta' });
    expect(() => t.parse('$SYS/d1/telemetry')).toThrow(expect.objectContaining({ code: 'BAD_TOPIC', message: expect.stringMatching(/reserved/) }));
    expect(() => createTopicParser().parse('$SYS/broker/uptime')).toThrow(expect.objectContaining({ code: 'BAD_TOPIC' }));
    expect(() => createTopicParser({ telemetry: '$SYS/{deviceId}/telemetry' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
