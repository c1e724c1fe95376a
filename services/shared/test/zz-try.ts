import { startPrivateBroker } from '/work/main/services/shared/test/kafka-broker.ts';
const t0 = Date.now();
const b = await startPrivateBroker();
console.log('started', Date.now() - t0, b.brokers, b.pid);
let t1 = Date.now(); await b.kill(); console.log('killed', Date.now() - t1);
t1 = Date.now(); await b.start(); console.log('restarted', Date.now() - t1, b.pid);
console.log(b.logFile); await b.kill(); console.log('destroyed', b.pid);
