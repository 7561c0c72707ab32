/**
 * Known errors in the response: served values that an open correction request (数据纠错) disputes
 * are listed in `extensions.quality.disputed` (`{ path, resource, item, correction }`), so the
 * consumer knows the value may be wrong and which request disputes it. The resolvers collect them
 * from the in-memory open requests (no query per request); this plugin only puts them in the result.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { HubContext } from '../context.ts';

export function useQualityFlags(): Plugin<HubContext> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as Partial<HubContext>;
      return {
        onExecuteDone({ result, setResult }) {
          const disputed = context.disputed;
          if (!disputed?.length || isAsyncIterable(result)) return;
          setResult({ ...result, extensions: { ...result.extensions, quality: { disputed: [...disputed] } } });
        },
      };
    },
  };
}
