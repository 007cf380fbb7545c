// Lists. A list call returns a `PagePromise`: await it for the first page, or iterate it with
// `for await` to walk every item of every page:
//
//   const page = await payin.orders.list({ status: 'pending', limit: 50 })
//   page.items; page.pagination.total; await page.nextPage()
//
//   for await (const order of payin.orders.list({ status: 'pending' })) { … }
//
// When to ask for another page is the Rust client's rule (`next_page_query`): while the
// server says `hasMore`, never back to a page already fetched, and an empty page ends the walk.
// Pages are offsets: orders created during a walk may shift an item across a page boundary;
// sort ascending by creation (`sortOrder: 'asc'`) to see everything that existed when it began.

import { nativeAsync } from './errors.js';
import type { Pagination } from './types.js';

/** A page as the native module returns it. */
interface NativePage<T> {
  items: T[];
  pagination: Pagination;
  nextQuery: Record<string, unknown> | null;
}

/** Fetches the page a query (JSON text) asks for. */
export type FetchPage = (query: string) => Promise<string>;

async function fetchPage<T>(fetch: FetchPage, query: unknown): Promise<Page<T>> {
  const page = JSON.parse(await nativeAsync(fetch(JSON.stringify(query ?? {})))) as NativePage<T>;
  return new Page(page.items, page.pagination, page.nextQuery, fetch);
}

/** One page of a list, and the way to the next. Iterating it walks this page and every later one. */
export class Page<T> implements AsyncIterable<T> {
  readonly #next: Record<string, unknown> | null;
  readonly #fetch: FetchPage;

  /** @internal */
  constructor(
    /** The items of this page. */
    readonly items: T[],
    /** Where this page is: `page`, `limit`, `total`, `totalPages`, `hasMore`. */
    readonly pagination: Pagination,
    next: Record<string, unknown> | null,
    fetch: FetchPage,
  ) {
    this.#next = next;
    this.#fetch = fetch;
  }

  /** True when there is a page after this one. */
  hasNextPage(): boolean {
    return this.#next !== null;
  }

  /** The next page (with the same filters), or null after the last. */
  async nextPage(): Promise<Page<T> | null> {
    return this.#next === null ? null : fetchPage<T>(this.#fetch, this.#next);
  }

  /** This page and every later one, fetched one at a time as you iterate. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> | null = this;
    while (page !== null) {
      yield page;
      page = await page.nextPage();
    }
  }

  /** Every item of this page and of every later page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }
}

/**
 * The answer to a list call: a Promise of its first page that is also an async iterable of
 * every item of every page. The first request is sent when you await or iterate it.
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #fetch: FetchPage;
  readonly #query: unknown;
  #first: Promise<Page<T>> | undefined;

  /** @internal */
  constructor(fetch: FetchPage, query: unknown) {
    this.#fetch = fetch;
    this.#query = query;
  }

  #page(): Promise<Page<T>> {
    this.#first ??= fetchPage<T>(this.#fetch, this.#query);
    return this.#first;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#page().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.#page().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.#page().finally(onfinally);
  }

  /** Every item of every page, from the first. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.#page();
  }

  /** Every item of every page, collected into one array (mind the size of the list). */
  async toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}
