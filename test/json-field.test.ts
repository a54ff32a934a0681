import { describe, expect, it } from 'vitest';
import { ExactNumber, parseExactJson } from '../shared/exact-json.js';
import { jsonField } from '../shared/json-field.js';

/** What a whole parse gives for the field: the answer jsonField must match. */
const whole = (text: string, name: string) => (parseExactJson(text) as Record<string, unknown>)[name];

describe('jsonField', () => {
  it('reads a field as a whole parse does, and nothing else', () => {
    const text = '{"a":1,"id":9007199254740993,"s":"x","n":null,"d":12.50,"o":{"id":2},"arr":[1,{"id":3}]}';
    for (const name of ['a', 'id', 's', 'n', 'd', 'o', 'arr', 'missing']) {
      expect(jsonField(text, name), name).toEqual({ value: whole(text, name) });
    }
    expect(jsonField(text, 'id')!.value).toBeInstanceOf(ExactNumber);
    expect(String(jsonField(text, 'id')!.value)).toBe('9007199254740993');
  });

  it('is not fooled by the field name inside strings, nested objects or escaped keys', () => {
    const hostile = [
      '{"note":"\\"id\\":666,","id":"real"}',
      '{"note":"ends in a backslash \\\\","id":"real"}',
      '{"o":{"id":"nested"},"id":"real"}',
      '{"o":["{\\"id\\":1}",{"id":"in array"}],"id":"real"}',
      '{"i\\u0064":"escaped key","x":1}',
      '{ "id" : "spaced" , "x" : [ 1 , 2 ] }',
      '{"id":"first","id":"last"}',
      '{"note":"} ] { [","id":"real"}',
      '{"id":"\\u0000\\ud83d\\ude00 emoji"}',
    ];
    for (const text of hostile) expect(jsonField(text, 'id'), text).toEqual({ value: whole(text, 'id') });
    expect(jsonField('{"i\\u0064":"escaped key"}', 'id')).toEqual({ value: 'escaped key' });
    expect(jsonField('{"id":"first","id":"last"}', 'id')).toEqual({ value: 'last' });
    expect(jsonField('{}', 'id')).toEqual({ value: undefined });
  });

  it('matches a whole parse on generated payloads', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pieces = ['"', '\\', '\\"', 'id', '"id":', '{', '}', '[', ']', ',', ':', ' ', 'é', '\u2028', 'x'];
    const str = () =>
      JSON.stringify(Array.from({ length: Math.floor(random() * 6) }, () => pieces[Math.floor(random() * pieces.length)]).join(''));
    const scalar = () =>
      [str(), '12345678901234567890', '-0', '1.50', '1e400', 'true', 'false', 'null', String(Math.floor(random() * 1e6))][
        Math.floor(random() * 9)
      ];
    const value = (depth: number): string => {
      const r = random();
      if (depth > 0 && r < 0.15) return `{${Array.from({ length: 2 }, () => `${str()}:${value(depth - 1)}`).join(',')}}`;
      if (depth > 0 && r < 0.3) return `[${Array.from({ length: 2 }, () => value(depth - 1)).join(', ')}]`;
      return scalar();
    };
    for (let i = 0; i < 2000; i++) {
      const keys = ['id', 'a', 'b', str().slice(1, -1) || 'c'];
      const text = `{${keys.map((k) => `${JSON.stringify(k)}:${value(2)}`).join(',')}}`;
      for (const name of ['id', 'a', 'nope']) expect(jsonField(text, name), text).toEqual({ value: whole(text, name) });
    }
  });

  it('leaves what is not one object to the whole parse', () => {
    for (const text of [
      '',
      ' ',
      '[1]',
      '"id"',
      '{"id":1',
      '{"id":1}x',
      '{"id" 1}',
      '{"id":}',
      '{"id":"open}',
      '{id:1}',
      '{"id":1,}',
      '{"id":tru}',
      '{"id":NaN}',
    ]) {
      expect(jsonField(text, 'id'), text).toBeNull();
    }
  });
});
