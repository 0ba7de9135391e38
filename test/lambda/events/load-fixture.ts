import { readFileSync } from 'node:fs';

/** A JSON fixture from test/fixtures/events, parsed afresh (tests may modify it). */
export function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../fixtures/events/${name}`, import.meta.url), 'utf8')) as unknown;
}

/** The raw text of a fixture, as an SQS body would carry it. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`../../fixtures/events/${name}`, import.meta.url), 'utf8');
}

/** A deep copy of a fixture typed for editing. */
export function editableFixture(name: string): any {
  return loadFixture(name);
}
