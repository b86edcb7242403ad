#!/usr/bin/env ruby
# A small CGI with the contract of rubys/showcase script/update_configuration.rb: headers before
# any work, the gzipped index from standard input written to RAILS_DB_VOLUME, a streamed log
# ending in "Configuration update COMPLETED successfully" or "Configuration update FAILED (...)".
require 'json'
require 'zlib'
require 'stringio'
require 'time'

def log(message)
  puts "[#{Time.now.utc.iso8601}] #{message}"
  STDOUT.flush
end

puts "Content-Type: text/plain"
puts ""
STDOUT.flush
log "Starting configuration update (Phase 1: Fast operations)"
dbpath = ENV.fetch('RAILS_DB_VOLUME')
cgi = %w[REQUEST_METHOD CONTENT_LENGTH CONTENT_TYPE HTTP_CONTENT_ENCODING HTTP_X_UPDATE_TIME
         RAILS_DB_VOLUME GATEWAY_INTERFACE MACHINE_UPDATE_SECRET AWS_SECRET_ACCESS_KEY]
File.write(File.join(dbpath, 'cgi-env.json'), JSON.dump(cgi.to_h { |k| [k, ENV[k]] }))
File.write(File.join(dbpath, 'cgi-cwd'), Dir.pwd)
if ENV['REQUEST_METHOD'] == 'POST' && ENV['CONTENT_LENGTH'].to_i > 0
  body = STDIN.read(ENV['CONTENT_LENGTH'].to_i)
  body = Zlib::GzipReader.new(StringIO.new(body)).read if ENV['HTTP_CONTENT_ENCODING'] == 'gzip'
  File.binwrite(File.join(dbpath, 'index.sqlite3'), body)
  log "SUCCESS: Received database directly (#{body.bytesize} bytes, updated: #{ENV['HTTP_X_UPDATE_TIME']})"
else
  log "Configuration update FAILED (database sync failed)"
  exit 1
end
log "Operation 2/5: Updating htpasswd file"
if File.exist?(File.join(dbpath, 'fail-htpasswd'))
  log "ERROR: htpasswd update failed: told to"
  log "=" * 70
  log "Configuration update FAILED (htpasswd update failed)"
  exit 1
end
log "=" * 70
log "Configuration update COMPLETED successfully"
log "Navigator will detect config changes and reload automatically"
