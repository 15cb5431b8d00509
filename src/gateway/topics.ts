/**
 * MQTT topic templates: `devices/{deviceId}/telemetry` and `devices/{deviceId}/meta`
 * by default. A template has exactly one `{deviceId}` placeholder occupying a whole
 * topic level; the rest are literal levels.
 */
import { LmjError } from '../errors.js';
import { assertDeviceId } from '../devices/device-id.js';

/** Default telemetry topic template. */
export const DEFAULT_TELEMETRY_TOPIC = 'devices/{deviceId}/telemetry';
/** Default meta topic template. */
export const DEFAULT_META_TOPIC = 'devices/{deviceId}/meta';

/** The two topic templates the gateway listens on. */
export interface TopicTemplates {
  telemetry: string;
  meta: string;
}

/** What a topic means: which device, and whether it carries a reading or metadata. */
export interface ParsedTopic {
  kind: 'telemetry' | 'meta';
  deviceId: string;
}

interface CompiledTemplate {
  kind: 'telemetry' | 'meta';
  levels: string[];
  idIndex: number;
}

/** Parses topics against templates; also builds the MQTT subscription filters. */
export interface TopicParser {
  /** Throws BAD_TOPIC (no template matches) or BAD_DEVICE_ID (the id level is invalid). */
  parse(topic: string): ParsedTopic;
  /** MQTT filters for subscribing, e.g. `devices/+/telemetry`. */
  readonly filters: readonly string[];
  /** The concrete topic for a device, e.g. for tests and the simulator. */
  topicFor(kind: 'telemetry' | 'meta', deviceId: string): string;
}

function compile(kind: 'telemetry' | 'meta', template: string): CompiledTemplate {
  const levels = template.split('/');
  const idIndexes = levels.flatMap((l, i) => (l === '{deviceId}' ? [i] : []));
  const bad = levels.some((l) => l !== '{deviceId}' && (l.includes('{') || l.includes('+') || l.includes('#')));
  if (idIndexes.length !== 1 || bad || template.length === 0 || isReservedTopic(template)) {
    throw new LmjError('BAD_CONFIG', `topic template "${template}" must contain exactly one {deviceId} level, no wildcards and not start with "$"`, {
      details: { key: `topics.${kind}`, template },
    });
  }
  return { kind, levels, idIndex: idIndexes[0] as number };
}

/**
 * Topics starting with `$` (`$SYS/…`) belong to the broker (MQTT-4.7.2-1): wildcard
 * filters never match them, and aedes acts on some of them itself.
 */
export function isReservedTopic(topic: string): boolean {
  return topic.startsWith('$');
}

/** Compiles the templates (defaults when omitted); throws BAD_CONFIG for a bad template. */
export function createTopicParser(templates: Partial<TopicTemplates> = {}): TopicParser {
  const compiled = [
    compile('telemetry', templates.telemetry ?? DEFAULT_TELEMETRY_TOPIC),
    compile('meta', templates.meta ?? DEFAULT_META_TOPIC),
  ];
  const [tel, meta] = compiled as [CompiledTemplate, CompiledTemplate];
  if (tel.levels.join('/') === meta.levels.join('/')) {
    throw new LmjError('BAD_CONFIG', 'telemetry and meta topic templates must differ', { details: { key: 'topics' } });
  }
  return {
    filters: compiled.map((c) => c.levels.map((l, i) => (i === c.idIndex ? '+' : l)).join('/')),
    parse(topic: string): ParsedTopic {
      if (typeof topic !== 'string' || topic.length === 0 || topic.length > 1024) {
        throw new LmjError('BAD_TOPIC', 'topic is empty or too long', { details: { topic: String(topic).slice(0, 80) } });
      }
      if (isReservedTopic(topic)) {
        throw new LmjError('BAD_TOPIC', `topic "${topic.slice(0, 200)}" is reserved for the broker (starts with "$")`, {
          details: { topic: topic.slice(0, 200) },
        });
      }
      const levels = topic.split('/');
      for (const c of compiled) {
        if (levels.length !== c.levels.length) continue;
        if (!c.levels.every((l, i) => i === c.idIndex || l === levels[i])) continue;
        return { kind: c.kind, deviceId: assertDeviceId(levels[c.idIndex]) };
      }
      throw new LmjError('BAD_TOPIC', `topic "${topic.slice(0, 200)}" matches no topic template`, {
        details: { topic: topic.slice(0, 200) },
      });
    },
    topicFor(kind: 'telemetry' | 'meta', deviceId: string): string {
      const c = kind === 'telemetry' ? tel : meta;
      const id = assertDeviceId(deviceId);
      return c.levels.map((l, i) => (i === c.idIndex ? id : l)).join('/');
    },
  };
}
