/**
 * s3rver in a process of its own, for `npm run chaos`: the chaos run kills and restarts it
 * mid-run, as an S3 endpoint that goes away would. Same port and folder on every start, so the
 * objects survive the restart.
 *
 *   npx tsx bench/chaos-s3-endpoint.ts <port> <directory>
 */
import S3rver from 's3rver';

const [port, directory] = process.argv.slice(2);
if (!port || !directory) throw new Error('usage: chaos-s3-endpoint.ts <port> <directory>');
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory });
await server.run();
process.stdout.write(`s3 endpoint ready on ${port}\n`);
