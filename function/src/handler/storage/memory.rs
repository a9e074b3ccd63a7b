//! An in-memory [`Store`] for tests, with S3's semantics where the handler relies on them (ETags from
//! the content, conditional writes, `If-Match` reads and copies, deleting a missing key succeeds), and
//! [`Gated`], a view of it whose every call waits for a test to grant it: two handlers on one memory
//! can then be run in any interleaving of their calls, one call at a time.
use super::{Body, Condition, Head, Page, Put, Store, StoreError, StoreResult, PAGE_KEYS};
use futures::FutureExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};

#[derive(Debug, Clone)]
pub struct Object {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub etag: String,
    pub metadata: HashMap<String, String>,
}

#[derive(Default)]
pub struct Memory {
    objects: Mutex<BTreeMap<(String, String), Object>>,
}

fn etag_of(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

impl Memory {
    /// Uploads `body` (as a user would); returns its ETag.
    pub fn upload(&self, bucket: &str, key: &str, body: &[u8]) -> String {
        let etag = etag_of(body);
        let object = Object {
            body: body.to_vec(),
            content_type: None,
            etag: etag.clone(),
            metadata: HashMap::new(),
        };
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), object);
        etag
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Object> {
        let objects = self.objects.lock().unwrap();
        objects.get(&(bucket.into(), key.into())).cloned()
    }

    pub fn remove(&self, bucket: &str, key: &str) {
        let mut objects = self.objects.lock().unwrap();
        objects.remove(&(bucket.to_owned(), key.to_owned()));
    }

    fn not_found(bucket: &str, key: &str) -> StoreError {
        StoreError::NotFound {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    fn conflict(bucket: &str, key: &str) -> StoreError {
        StoreError::Conflict {
            bucket: bucket.into(),
            key: key.into(),
        }
    }
}

impl Store for Memory {
    fn head<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, Head> {
        let found = self.object(bucket, key).map(|o| Head {
            etag: o.etag,
            size: o.body.len() as u64,
            content_type: o.content_type,
            metadata: o.metadata,
        });
        async move { found.ok_or_else(|| Memory::not_found(bucket, key)) }.boxed()
    }

    fn listed<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, bool> {
        let listed = self.object(bucket, key).is_some();
        async move { Ok(listed) }.boxed()
    }

    fn list_page<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> StoreResult<'a, Page> {
        let objects = self.objects.lock().unwrap();
        let mut keys: Vec<String> = objects
            .keys()
            .filter(|(b, k)| {
                b == bucket && k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a)
            })
            .map(|(_, k)| k.clone())
            .take(PAGE_KEYS + 1)
            .collect();
        let truncated = keys.len() > PAGE_KEYS;
        keys.truncate(PAGE_KEYS);
        async move { Ok(Page { keys, truncated }) }.boxed()
    }

    fn get_capped<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        etag: &'a str,
        cap: u64,
    ) -> StoreResult<'a, Body> {
        let result = match self.object(bucket, key) {
            None => Err(Memory::not_found(bucket, key)),
            Some(o) if o.etag != etag => Err(Memory::conflict(bucket, key)),
            Some(o) if o.body.len() as u64 > cap => Ok(Body::TooLarge(o.body.len() as u64)),
            Some(o) => Ok(Body::Bytes(o.body)),
        };
        async move { result }.boxed()
    }

    fn put<'a>(&'a self, put: Put<'a>) -> StoreResult<'a, ()> {
        let mut objects = self.objects.lock().unwrap();
        let id = (put.bucket.to_owned(), put.key.to_owned());
        let allowed = match (&put.condition, objects.get(&id)) {
            (Condition::Always, _) | (Condition::Absent, None) => true,
            (Condition::Unchanged(etag), Some(o)) => o.etag == *etag,
            (Condition::Absent, Some(_)) | (Condition::Unchanged(_), None) => false,
        };
        let result = if allowed {
            let object = Object {
                etag: etag_of(&put.body),
                content_type: Some(put.content_type.to_owned()),
                body: put.body,
                metadata: put.metadata,
            };
            objects.insert(id, object);
            Ok(())
        } else {
            Err(Memory::conflict(put.bucket, put.key))
        };
        async move { result }.boxed()
    }

    fn copy<'a>(
        &'a self,
        from_bucket: &'a str,
        key: &'a str,
        to_bucket: &'a str,
        etag: &'a str,
    ) -> StoreResult<'a, ()> {
        let mut objects = self.objects.lock().unwrap();
        let result = match objects.get(&(from_bucket.to_owned(), key.to_owned())) {
            None => Err(Memory::not_found(from_bucket, key)),
            Some(o) if o.etag != etag => Err(Memory::conflict(from_bucket, key)),
            Some(o) => {
                let copy = o.clone();
                objects.insert((to_bucket.into(), key.into()), copy);
                Ok(())
            }
        };
        async move { result }.boxed()
    }

    fn delete<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        if_match: Option<&'a str>,
    ) -> StoreResult<'a, ()> {
        let mut objects = self.objects.lock().unwrap();
        let id = (bucket.to_owned(), key.to_owned());
        let result = match (if_match, objects.get(&id)) {
            (Some(_), None) => Err(Memory::not_found(bucket, key)),
            (Some(etag), Some(o)) if o.etag != etag => Err(Memory::conflict(bucket, key)),
            _ => {
                objects.remove(&id);
                Ok(())
            }
        };
        async move { result }.boxed()
    }
}

/// A [`Memory`] whose calls each wait for one [`Gated::grant`], then report their name on the
/// channel given to [`Gated::new`].
pub struct Gated {
    memory: Arc<Memory>,
    turns: Arc<Semaphore>,
    done: mpsc::UnboundedSender<&'static str>,
}

impl Gated {
    pub fn new(memory: Arc<Memory>, done: mpsc::UnboundedSender<&'static str>) -> Gated {
        Gated {
            memory,
            turns: Arc::new(Semaphore::new(0)),
            done,
        }
    }

    /// A handle that lets one more call through.
    pub fn turns(&self) -> Arc<Semaphore> {
        self.turns.clone()
    }

    async fn gate<T>(&self, name: &'static str, call: StoreResult<'_, T>) -> Result<T, StoreError> {
        self.turns
            .acquire()
            .await
            .expect("the semaphore is never closed")
            .forget();
        let result = call.await;
        let _ = self.done.send(name);
        result
    }
}

impl Store for Gated {
    fn head<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, Head> {
        // Every call is deferred into the future: it reads the memory on its turn, not when queued.
        let call = async move { self.memory.head(bucket, key).await }.boxed();
        self.gate("head", call).boxed()
    }

    fn listed<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, bool> {
        let call = async move { self.memory.listed(bucket, key).await }.boxed();
        self.gate("listed", call).boxed()
    }

    fn list_page<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> StoreResult<'a, Page> {
        let call = async move { self.memory.list_page(bucket, prefix, after).await }.boxed();
        self.gate("list", call).boxed()
    }

    fn get_capped<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        etag: &'a str,
        cap: u64,
    ) -> StoreResult<'a, Body> {
        let call = async move { self.memory.get_capped(bucket, key, etag, cap).await }.boxed();
        self.gate("get", call).boxed()
    }

    fn put<'a>(&'a self, put: Put<'a>) -> StoreResult<'a, ()> {
        let call = async move { self.memory.put(put).await }.boxed();
        self.gate("put", call).boxed()
    }

    fn copy<'a>(
        &'a self,
        from_bucket: &'a str,
        key: &'a str,
        to_bucket: &'a str,
        etag: &'a str,
    ) -> StoreResult<'a, ()> {
        let call = async move { self.memory.copy(from_bucket, key, to_bucket, etag).await }.boxed();
        self.gate("copy", call).boxed()
    }

    fn delete<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        if_match: Option<&'a str>,
    ) -> StoreResult<'a, ()> {
        let call = async move { self.memory.delete(bucket, key, if_match).await }.boxed();
        self.gate("delete", call).boxed()
    }
}
