/**
 * A resource description naming the source buckets, within the service's limit (Lambda 256
 * characters, EventBridge rules 512): every name when they fit, else how many there are and as
 * many names as fit.
 */
export function fitDescription(before: string, buckets: readonly string[], after: string, limit: number): string {
  const all = `${before}${buckets.join(', ')}${after}`;
  if (all.length <= limit) return all;
  const names: string[] = [];
  const text = () => `${before}${buckets.length} buckets (${[...names, '…'].join(', ')})${after}`;
  for (const name of buckets) {
    names.push(name);
    if (text().length > limit) {
      names.pop();
      break;
    }
  }
  return text().slice(0, limit);
}
