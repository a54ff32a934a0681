/**
 * A recursive-descent parser for the SOQL subset the emulator answers:
 *
 *   SELECT (COUNT() | name, …) FROM name [WHERE condition] [ORDER BY name [ASC|DESC] [NULLS FIRST|LAST], …]
 *   [LIMIT n] [OFFSET n]
 *   condition := term (AND term)* | term (OR term)*      -- mixing AND and OR needs parentheses, as in SOQL
 *   term      := NOT term | ( condition ) | name op literal | name [NOT] IN ( literal, … ) | name LIKE 'pattern'
 *
 * It knows no field or object: names are checked against the org in `bind.ts`.
 */
import { tokenize, type Token } from './lexer.js';
import { SoqlError } from './soql-error.js';

export interface Name {
  text: string;
  at: number;
}

export type Literal =
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'boolean'; value: boolean; at: number }
  | { kind: 'null'; at: number }
  | { kind: 'datetime'; value: number; text: string; at: number }
  | { kind: 'date'; value: string; at: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'compare'; field: Name; op: CompareOp; value: Literal }
  | { kind: 'in'; field: Name; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: Name; pattern: string; at: number };

export interface OrderItem {
  field: Name;
  descending: boolean;
  nullsLast: boolean;
}

export interface SelectQuery {
  soql: string;
  /** `count` for `SELECT COUNT()`. */
  fields: Name[] | 'count';
  object: Name;
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

const CLAUSE_WORDS = new Set(['FROM', 'WHERE', 'ORDER', 'LIMIT', 'OFFSET', 'AND', 'OR', 'NOT', 'IN', 'LIKE', 'BY', 'SELECT']);

export function parseSoql(soql: string): SelectQuery {
  return new Parser(soql).query();
}

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly soql: string) {
    this.tokens = tokenize(soql);
  }

  query(): SelectQuery {
    this.keyword('SELECT');
    const fields = this.selectList();
    this.keyword('FROM');
    const object = this.name();
    const query: SelectQuery = { soql: this.soql, fields, object, orderBy: [] };
    if (this.acceptKeyword('WHERE')) query.where = this.condition();
    if (this.acceptKeyword('ORDER')) {
      this.keyword('BY');
      do query.orderBy.push(this.orderItem());
      while (this.acceptPunct(','));
    }
    if (this.acceptKeyword('LIMIT')) query.limit = this.count();
    if (this.acceptKeyword('OFFSET')) query.offset = this.count();
    if (this.peek().kind !== 'end') this.unexpected();
    return query;
  }

  private selectList(): Name[] | 'count' {
    if (this.isKeyword('COUNT') && this.tokens[this.index + 1]?.text === '(') {
      this.index++;
      this.punct('(');
      this.punct(')');
      return 'count';
    }
    const fields: Name[] = [];
    do fields.push(this.name());
    while (this.acceptPunct(','));
    return fields;
  }

  private orderItem(): OrderItem {
    const field = this.name();
    const descending = this.acceptKeyword('DESC');
    if (!descending) this.acceptKeyword('ASC');
    let nullsLast = descending;
    if (this.acceptKeyword('NULLS')) {
      if (this.acceptKeyword('LAST')) nullsLast = true;
      else {
        this.keyword('FIRST');
        nullsLast = false;
      }
    }
    return { field, descending, nullsLast };
  }

  private condition(): Condition {
    const first = this.term();
    const joiner = this.isKeyword('AND') ? 'AND' : this.isKeyword('OR') ? 'OR' : undefined;
    if (!joiner) return first;
    const items = [first];
    while (this.acceptKeyword(joiner)) items.push(this.term());
    // SOQL refuses `a AND b OR c`: the other joiner is an unexpected token here.
    if (this.isKeyword(joiner === 'AND' ? 'OR' : 'AND')) this.unexpected();
    return { kind: joiner === 'AND' ? 'and' : 'or', items };
  }

  private term(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', item: this.term() };
    if (this.acceptPunct('(')) {
      const inner = this.condition();
      this.punct(')');
      return inner;
    }
    const field = this.name();
    const token = this.peek();
    if (token.kind === 'op') {
      this.index++;
      const op = (token.text === '<>' ? '!=' : token.text) as CompareOp;
      return { kind: 'compare', field, op, value: this.literal() };
    }
    const negated = this.acceptKeyword('NOT');
    if (this.acceptKeyword('IN')) {
      this.punct('(');
      const values = [this.literal()];
      while (this.acceptPunct(',')) values.push(this.literal());
      this.punct(')');
      return { kind: 'in', field, negated, values };
    }
    if (!negated && this.isKeyword('LIKE')) {
      this.index++;
      const pattern = this.peek();
      if (pattern.kind !== 'string') this.unexpected();
      this.index++;
      return { kind: 'like', field, pattern: pattern.text, at: pattern.at };
    }
    return this.unexpected();
  }

  private literal(): Literal {
    const token = this.peek();
    this.index++;
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.text, at: token.at };
      case 'number':
        return { kind: 'number', value: Number(token.text), at: token.at };
      case 'date':
        if (Number.isNaN(Date.parse(`${token.text}T00:00:00Z`))) break;
        return { kind: 'date', value: token.text, at: token.at };
      case 'datetime': {
        const value = Date.parse(token.text);
        if (Number.isNaN(value)) break;
        return { kind: 'datetime', value, text: token.text, at: token.at };
      }
      case 'name': {
        const word = token.text.toUpperCase();
        if (word === 'TRUE' || word === 'FALSE') return { kind: 'boolean', value: word === 'TRUE', at: token.at };
        if (word === 'NULL') return { kind: 'null', at: token.at };
        break;
      }
    }
    this.index--;
    return this.unexpected();
  }

  private name(): Name {
    const token = this.peek();
    if (token.kind !== 'name' || CLAUSE_WORDS.has(token.text.toUpperCase())) this.unexpected();
    this.index++;
    return { text: token.text, at: token.at };
  }

  private count(): number {
    const token = this.peek();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) this.unexpected();
    this.index++;
    return Number(token.text);
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'name' && token.text.toUpperCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.index++;
    return true;
  }

  private keyword(word: string): void {
    if (!this.acceptKeyword(word)) this.unexpected();
  }

  private acceptPunct(text: string): boolean {
    const token = this.peek();
    if (token.kind !== 'punct' || token.text !== text) return false;
    this.index++;
    return true;
  }

  private punct(text: string): void {
    if (!this.acceptPunct(text)) this.unexpected();
  }

  private unexpected(): never {
    const token = this.peek();
    throw new SoqlError('MALFORMED_QUERY', this.soql, token.at, `unexpected token: ${token.text}`);
  }
}
