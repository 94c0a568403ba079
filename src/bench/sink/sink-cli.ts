import { Option, type Command } from 'commander';
import { choiceList, jsonOption, listOf, positiveInt, typedDefault } from '../../cli/options.js';

type SinkKind = 'mqtt' | 'nats' | 'redis';

/** `daemon bench sink`: events/s each broker sink sustains, against local brokers on loopback. */
export function registerBenchSink(bench: Command): Command {
  return bench
    .command('sink')
    .description('events/s each broker sink sustains (starts local mosquitto, nats-server, redis-server on loopback)')
    .option('--events <n>', 'affect events per run', positiveInt('--events'), 20_000)
    .addOption(typedDefault(new Option('--kinds <list>', 'mqtt, nats, redis').argParser(choiceList('kind', ['mqtt', 'nats', 'redis'] satisfies SinkKind[])), 'mqtt,nats,redis'))
    .addOption(typedDefault(new Option('--in-flight <list>', 'maxInFlight values to try').argParser(listOf(positiveInt('--in-flight'))), '1,64,256'))
    .addOption(jsonOption())
    .action(async (o: { events: number; kinds: SinkKind[]; inFlight: number[]; json?: boolean }) => {
      const { benchSink } = await import('./sink.js');
      await benchSink({ events: o.events, kinds: o.kinds, inFlight: o.inFlight, json: o.json === true });
    });
}
