import { describe, expect, it } from 'vitest';
import { createKeyFilter, parsePatternList } from '../../src/filters/key-filter.js';

const passing = (filter: (key: string) => boolean, keys: string[]) => keys.filter(filter);

describe('createKeyFilter', () => {
  it('passes every key, even the empty-looking ones, when there are no patterns', () => {
    const filter = createKeyFilter({});
    expect(passing(filter, ['a', '.env', 'a/', 'a//b', ' ', '😀'])).toEqual(['a', '.env', 'a/', 'a//b', ' ', '😀']);
    expect(createKeyFilter()('anything')).toBe(true);
    expect(createKeyFilter({ include: [], exclude: [] })('x/y')).toBe(true);
  });

  it('matches the whole key: * stays in one segment, ** spans /', () => {
    expect(passing(createKeyFilter({ include: ['*.jpg'] }), ['a.jpg', 'x/a.jpg', 'a.jpg.bak'])).toEqual(['a.jpg']);
    expect(passing(createKeyFilter({ include: ['**/*.jpg'] }), ['a.jpg', 'x/a.jpg', 'x/y/z.jpg', 'x/a.jpeg'])).toEqual([
      'a.jpg',
      'x/a.jpg',
      'x/y/z.jpg',
    ]);
    expect(passing(createKeyFilter({ include: ['logs'] }), ['logs', 'logs/a', 'xlogs', 'logs2'])).toEqual(['logs']);
  });

  it('treats dot-files like any other name', () => {
    const filter = createKeyFilter({ include: ['**'], exclude: ['**/.git/**', '*.tmp'] });
    expect(passing(filter, ['.env', 'a/.hidden', 'x/.git/config', '.git/HEAD', '.b.tmp', 'a/.b.tmp'])).toEqual([
      '.env',
      'a/.hidden',
      'a/.b.tmp',
    ]);
  });

  it('needs any include and no exclude', () => {
    const filter = createKeyFilter({ include: ['photos/**', 'videos/**'], exclude: ['**/*.tmp', 'photos/private/**'] });
    expect(
      passing(filter, ['photos/a.jpg', 'videos/b.mp4', 'docs/c.pdf', 'photos/d.tmp', 'photos/private/e.jpg', 'photos/privateX/f.jpg']),
    ).toEqual(['photos/a.jpg', 'videos/b.mp4', 'photos/privateX/f.jpg']);
  });

  it('excludes alone remove only what they match', () => {
    const filter = createKeyFilter({ exclude: ['tmp/**'] });
    expect(passing(filter, ['tmp/x', 'tmp/', 'a/tmp/x', 'tmpx'])).toEqual(['a/tmp/x', 'tmpx']);
  });

  it('handles awkward keys: spaces, +, emoji, unicode', () => {
    const filter = createKeyFilter({ include: ['my folder/**', 'a+b/*', '**/*😀*', 'café/*'] });
    expect(
      passing(filter, ['my folder/my file.txt', 'my folder', 'myfolder/x', 'a+b/c', 'ab/c', 'aab/c', 'x/y/😀.png', 'x/y/smile.png', 'café/x', 'cafe/x']),
    ).toEqual(['my folder/my file.txt', 'a+b/c', 'x/y/😀.png', 'café/x']);
    // A space-only or +-laden key is a literal key, not URL-encoded.
    expect(createKeyFilter({ include: ['a b+c'] })('a b+c')).toBe(true);
    expect(createKeyFilter({ include: ['a b+c'] })('a%20b%2Bc')).toBe(false);
  });

  it('handles a//b: an empty segment is a segment', () => {
    expect(createKeyFilter({ include: ['a/**'] })('a//b')).toBe(true);
    expect(createKeyFilter({ include: ['a/**/b'] })('a//b')).toBe(true);
    expect(createKeyFilter({ include: ['a/*/b'] })('a//b')).toBe(true);
    expect(createKeyFilter({ include: ['a/b'] })('a//b')).toBe(false);
    expect(createKeyFilter({ exclude: ['a/b'] })('a//b')).toBe(true);
  });

  it('keeps a trailing / significant (folder markers)', () => {
    expect(createKeyFilter({ include: ['*'] })('a/')).toBe(false);
    expect(createKeyFilter({ include: ['*/'] })('a/')).toBe(true);
    expect(createKeyFilter({ include: ['**/'] })('a/b/')).toBe(true);
    expect(createKeyFilter({ include: ['**/'] })('a/b')).toBe(false);
    expect(createKeyFilter({ include: ['logs/**'] })('logs/')).toBe(true);
    expect(createKeyFilter({ include: ['logs/**'] })('logs/a/')).toBe(true);
    expect(createKeyFilter({ include: ['logs/**'] })('logs')).toBe(false);
    expect(createKeyFilter({ exclude: ['**/'] })('a/')).toBe(false);
  });

  it('treats keys literally: no ./ stripping, backslash is not a separator', () => {
    expect(createKeyFilter({ include: ['x/**'] })('./x/y')).toBe(false);
    expect(createKeyFilter({ include: ['a/*'] })('a\\b')).toBe(false);
    expect(createKeyFilter({ include: ['*'] })('a\\b')).toBe(true);
    expect(createKeyFilter({ include: ['**'] })('/leading')).toBe(true);
  });

  it('supports braces, classes and escapes', () => {
    expect(passing(createKeyFilter({ include: ['*.{jpg,png}'] }), ['a.jpg', 'a.png', 'a.gif', 'a.PNG'])).toEqual(['a.jpg', 'a.png']);
    expect(passing(createKeyFilter({ include: ['v[0-9]/*'] }), ['v1/a', 'vx/a'])).toEqual(['v1/a']);
    expect(passing(createKeyFilter({ include: ['a\\*'] }), ['a*', 'ab'])).toEqual(['a*']);
  });
});

describe('parsePatternList', () => {
  it('splits on commas, trims, and drops empty entries', () => {
    expect(parsePatternList(undefined)).toEqual([]);
    expect(parsePatternList('')).toEqual([]);
    expect(parsePatternList(' , ,, ')).toEqual([]);
    expect(parsePatternList('a')).toEqual(['a']);
    expect(parsePatternList(' logs/** , *.tmp,,tmp/** ,')).toEqual(['logs/**', '*.tmp', 'tmp/**']);
  });

  it('keeps spaces inside an entry', () => {
    expect(parsePatternList(' my folder/** , a b ')).toEqual(['my folder/**', 'a b']);
  });

  it('keeps commas inside braces and escaped commas in their pattern', () => {
    expect(parsePatternList('photos/*.{jpg,png}, logs/**')).toEqual(['photos/*.{jpg,png}', 'logs/**']);
    expect(parsePatternList('{a,{b,c}}/*,d')).toEqual(['{a,{b,c}}/*', 'd']);
    expect(parsePatternList('a\\,b,c')).toEqual(['a\\,b', 'c']);
    expect(createKeyFilter({ include: parsePatternList('a\\,b,c') })('a,b')).toBe(true);
  });
});

describe('keys S3 allows but paths do not', () => {
  it('* and ** match line breaks, and . and .. segments are names like any other', () => {
    const logs = createKeyFilter({ include: ['logs/**'] });
    for (const key of ['logs/a\nb', 'logs/a\r\nb', 'logs/a\u2028b', 'logs/../y', 'logs/./z', 'logs/..']) expect(logs(key), JSON.stringify(key)).toBe(true);
    expect(logs('other/../logs/x')).toBe(false);
    const star = createKeyFilter({ exclude: ['logs/*'] });
    expect(star('logs/..')).toBe(false);
    expect(star('logs/a\nb')).toBe(false);
    expect(createKeyFilter({ include: ['a/../b'] })('a/../b')).toBe(true);
    expect(createKeyFilter({ include: ['a/../b'] })('a/x/b')).toBe(false);
  });
});
