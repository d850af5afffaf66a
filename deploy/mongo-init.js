// Runs once, on first start of an empty volume: creates the lpsflow user with
// read/write access to the lpsflow database only. The password comes from the
// container environment (see docker-compose.yml), never from this file.
db = db.getSiblingDB("lpsflow");
db.createUser({
  user: process.env.LPSFLOW_DB_USER,
  pwd: process.env.LPSFLOW_DB_PASSWORD,
  roles: [{ role: "readWrite", db: "lpsflow" }],
});
