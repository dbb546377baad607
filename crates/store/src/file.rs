//! [`FileStore`]: the fleet store of one host. Per credential, in one directory:
//!
//! - `<key>.json`: the [`Record`], mode 0600, replaced atomically (a temporary file in the same
//!   directory, fsync, rename over the record, fsync of the directory), so a reader sees the
//!   old record or the new one, never a part;
//! - `<key>.lease`: the renewal lease, an exclusive lock (`flock`) on this file held while one
//!   process renews. The operating system drops it when its holder exits, however it exits,
//!   so a process killed mid-renewal never blocks the others; waiters block on a shared lock
//!   of the same file and are woken the moment it is released;
//! - `<key>.lock`: held for the few microseconds of a compare-and-swap write.
//!
//! A record that does not parse, or names another credential, is renamed
//! `<key>.corrupt-<seconds>.json` and reported; the store then reads as empty.

use crate::key::credential_key;
use bearer_client_core::{FleetStore, StoreError, WriteOutcome};
use bearer_protocol::Credential;
use bearer_protocol::fleet::{LeaseId, LeaseOutcome, Record};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest record file read: a record is well under a kilobyte.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// The fleet store of one host: a directory of small files, one record and one lease per
/// credential: `<key>.json` (the record, replaced atomically), `<key>.lease` (locked while one
/// process renews; the operating system drops the lock of a process that dies) and `<key>.lock`
/// (held for a compare-and-swap write).
///
/// ```
/// use bearer_store::{FileStore, FleetStore};
/// use bearer_protocol::Credential;
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::new(dir.path())?;
/// let credential = Credential {
///     token_url: "https://api.example.com/oauth2/token".into(),
///     client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
/// };
/// assert!(store.read(&credential)?.is_none());
/// # Ok::<(), bearer_store::StoreError>(())
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// The leases this process holds: the lock file stays open (and locked) until released.
    held: Mutex<HashMap<LeaseId, File>>,
    notice: Mutex<Option<String>>,
}

impl FileStore {
    /// A store in `dir`, created (mode 0700) if missing.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        if !dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&dir)?;
        }
        Ok(Self {
            dir,
            held: Mutex::new(HashMap::new()),
            notice: Mutex::new(None),
        })
    }

    /// A store in the user's cache directory: `$XDG_CACHE_HOME/bearer` (or `~/.cache/bearer`)
    /// on Linux, `~/Library/Caches/bearer` on macOS, `%LOCALAPPDATA%\bearer\cache` on Windows.
    pub fn in_cache_dir() -> io::Result<Self> {
        let dirs = directories::ProjectDirs::from("", "", "bearer").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no home directory to cache tokens in",
            )
        })?;
        Self::new(dirs.cache_dir())
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record file of `credential`.
    pub fn record_path(&self, credential: &Credential) -> PathBuf {
        self.path(credential, "json")
    }

    fn path(&self, credential: &Credential, extension: &str) -> PathBuf {
        self.dir
            .join(format!("{}.{extension}", credential_key(credential)))
    }

    fn open_lock(&self, credential: &Credential, extension: &str) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(self.path(credential, extension))
    }

    /// Runs `f` holding the write lock of `credential`.
    fn exclusively<T>(
        &self,
        credential: &Credential,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let lock = self.open_lock(credential, "lock")?;
        lock.lock()?;
        let result = f();
        lock.unlock()?;
        result
    }

    /// The record as the file holds it; a file that does not parse or names another
    /// credential is set aside (under the write lock, so that a record written meanwhile is
    /// never the one set aside).
    fn load(&self, credential: &Credential, locked: bool) -> Result<Option<Record>, StoreError> {
        let path = self.record_path(credential);
        let bytes = match read_capped(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let problem = match serde_json::from_slice::<Record>(&bytes) {
            Ok(record)
                if record
                    .tokens
                    .as_ref()
                    .is_none_or(|t| &t.issued_to == credential) =>
            {
                return Ok(Some(record));
            }
            Ok(_) => "names another credential".to_owned(),
            Err(error) => format!("does not parse ({})", error.classify_name()),
        };
        if !locked {
            return self.exclusively(credential, || self.load(credential, true));
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = self.path(credential, &format!("corrupt-{stamp}.json"));
        fs::rename(&path, &aside)?;
        let name = aside.file_name().map(|n| n.to_string_lossy().into_owned());
        *self.notice.lock().unwrap_or_else(PoisonError::into_inner) = Some(format!(
            "the record file {problem}; set aside as {}",
            name.unwrap_or_default()
        ));
        Ok(None)
    }

    /// Replaces the record file atomically.
    fn replace(&self, credential: &Credential, record: &Record) -> Result<(), StoreError> {
        let mut temporary = tempfile::NamedTempFile::new_in(&self.dir)?;
        serde_json::to_writer(&mut temporary, record)?;
        temporary.write_all(b"\n")?;
        temporary.as_file().sync_all()?;
        temporary
            .persist(self.record_path(credential))
            .map_err(|error| error.error)?;
        #[cfg(unix)]
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

/// What `classify` says of a JSON error, without its text (which may quote the file).
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "not a record",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        // Parsed as it is, it fails and the file is set aside.
        bytes.truncate(MAX_RECORD_BYTES as usize);
    }
    Ok(bytes)
}

impl FleetStore for FileStore {
    fn read(&self, credential: &Credential) -> Result<Option<Record>, StoreError> {
        self.load(credential, false)
    }

    fn take_lease(
        &self,
        credential: &Credential,
        holder: LeaseId,
        ttl: Duration,
    ) -> Result<(Option<Record>, LeaseOutcome), StoreError> {
        let lease = self.open_lock(credential, "lease")?;
        match lease.try_lock() {
            Ok(()) => {
                self.held
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(holder, lease);
                // Read after the lock: every earlier holder wrote before releasing it.
                Ok((self.load(credential, false)?, LeaseOutcome::Won))
            }
            Err(TryLockError::WouldBlock) => Ok((
                self.load(credential, false)?,
                // The holder's lock ends when it releases or exits; `ttl` bounds the wait.
                LeaseOutcome::Held { remaining: ttl },
            )),
            Err(TryLockError::Error(error)) => Err(error.into()),
        }
    }

    fn write(
        &self,
        credential: &Credential,
        expected: u64,
        lease: Option<LeaseId>,
        record: &Record,
    ) -> Result<WriteOutcome, StoreError> {
        self.exclusively(credential, || {
            let current = self.load(credential, true)?;
            let generation = current.as_ref().map_or(0, |r| r.generation);
            let leased = lease.is_none_or(|id| {
                self.held
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(&id)
            });
            if generation != expected || !leased {
                return Ok(WriteOutcome::Conflict(current));
            }
            self.replace(credential, record)?;
            Ok(WriteOutcome::Written)
        })
    }

    fn release(&self, _credential: &Credential, holder: LeaseId) -> Result<(), StoreError> {
        let lease = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&holder);
        if let Some(lease) = lease {
            lease.unlock()?;
        }
        Ok(())
    }

    fn wait(
        &self,
        credential: &Credential,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        if self
            .load(credential, false)?
            .is_some_and(|r| r.generation != generation)
        {
            return Ok(());
        }
        // A shared lock is granted the moment the renewing process releases its exclusive
        // one (or exits). The thread blocked on it outlives a time-out, and then lets go at
        // once.
        let lease = self.open_lock(credential, "lease")?;
        let (done, woken) = mpsc::channel();
        std::thread::Builder::new()
            .name("bearer-file-store-wait".into())
            .spawn(move || {
                let locked = lease.lock_shared();
                drop(lease);
                let _ = done.send(locked);
            })?;
        match woken.recv_timeout(timeout) {
            Ok(locked) => Ok(locked?),
            Err(_) => Ok(()),
        }
    }

    fn take_notice(&self) -> Option<String> {
        self.notice
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
