import { redactUrl, redactUrls } from '../../../src/lib/redact.js';

describe('redactUrl', () => {
  it.each([
    ['https://user:pw@host/x', 'https://***@host/x'],
    ['http://token@host:8080/a?b=c', 'http://***@host:8080/a?b=c'],
    ['https://host/x', 'https://host/x'],
    ['https://host/a@b', 'https://host/a@b'],
    ['/local/folder', '/local/folder'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('redacts every URL inside a message', () => {
    expect(redactUrls('GET https://a:b@h/x failed, then http://c@d/y')).toBe(
      'GET https://***@h/x failed, then http://***@d/y',
    );
  });
});
