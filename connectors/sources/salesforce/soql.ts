/**
 * The SOQL an extract sends. Field and object names come from the describe (letters, digits and
 * underscores only, checked here again), instants are SOQL datetime literals, and the user's `filter:`
 * is placed, parenthesised, after `AND`: Salesforce's parser is the judge of it. Locally it is only
 * checked not to close the WHERE clause (a stray parenthesis, an unterminated string, ORDER BY, LIMIT …),
 * and it is never put into any local SQL.
 */
export const STAMP_FIELD = 'SystemModstamp';
export const ID_FIELD = 'Id';

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function soqlName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a Salesforce API name: ${JSON.stringify(name)}`);
  return name;
}

/** SOQL datetime literals are unquoted ISO 8601 instants. */
export function soqlInstant(at: Date): string {
  return at.toISOString();
}

function where(conditions: Array<string | null>): string {
  const parts = conditions.filter((c): c is string => c !== null);
  return parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '';
}

function userFilter(filter: string | null): string | null {
  return filter === null ? null : `(${filter})`;
}

function since(at: Date | null): string | null {
  return at === null ? null : `${STAMP_FIELD} >= ${soqlInstant(at)}`;
}

export function selectChanged(object: string, fields: string[], filter: string | null, after: Date | null): string {
  const names = [ID_FIELD, STAMP_FIELD, ...fields.filter((f) => f !== ID_FIELD && f !== STAMP_FIELD)].map(soqlName);
  // Ordered by the stamp, so the cursor can move after each landed page: every record before it is landed.
  return `SELECT ${names.join(', ')} FROM ${soqlName(object)}${where([since(after), userFilter(filter)])} ORDER BY ${STAMP_FIELD} ASC`;
}

export function countChanged(object: string, filter: string | null, after: Date | null): string {
  return `SELECT COUNT() FROM ${soqlName(object)}${where([since(after), userFilter(filter)])}`;
}

/** Deleted records through queryAll, when the replication call refuses the window. */
export function selectDeleted(object: string, after: Date): string {
  return `SELECT ${ID_FIELD} FROM ${soqlName(object)}${where(['IsDeleted = true', since(after)])}`;
}

const CLAUSES = /\b(ORDER\s+BY|GROUP\s+BY|LIMIT|OFFSET|HAVING|FOR\s+(VIEW|UPDATE|REFERENCE))\b/i;

/** Why `filter` cannot stand as one WHERE condition, or null. Quotes and escapes follow SOQL (\\' inside '…'). */
export function filterProblem(filter: string): string | null {
  if (filter.trim() === '') return 'is empty; leave it out to read every record';
  let depth = 0;
  let outside = '';
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === "'") {
      let j = i + 1;
      while (j < filter.length && filter[j] !== "'") j += filter[j] === '\\' ? 2 : 1;
      if (j >= filter.length) return 'has a string that is never closed';
      i = j;
      outside += ' ';
      continue;
    }
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) return 'closes a parenthesis it never opened';
    if (c === ';') return 'holds a semicolon; a filter is one SOQL condition';
    outside += c;
  }
  if (depth !== 0) return 'leaves a parenthesis open';
  const clause = CLAUSES.exec(outside);
  if (clause) return `holds ${clause[1].toUpperCase().replace(/\s+/, ' ')}; a filter is only the condition after WHERE`;
  return null;
}
